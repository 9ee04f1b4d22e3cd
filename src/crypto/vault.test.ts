import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Vault, keyIdOf } from './vault.js';

const aad = { tenantId: 'ten_A', recordId: 'chn_1' };

test('round-trips and never contains the plaintext', () => {
  const v = new Vault(randomBytes(32));
  const env = v.encrypt('{"token":"canary-123"}', aad);
  assert.ok(!env.includes('canary'));
  assert.equal(v.decrypt(env, aad), '{"token":"canary-123"}');
});

test('binds tenant and record ids: a copied ciphertext fails elsewhere', () => {
  const v = new Vault(randomBytes(32));
  const env = v.encrypt('secret', aad);
  assert.throws(() => v.decrypt(env, { tenantId: 'ten_B', recordId: 'chn_1' }), /failed authentication/);
  assert.throws(() => v.decrypt(env, { tenantId: 'ten_A', recordId: 'chn_2' }), /failed authentication/);
});

test('tampered ciphertext is rejected', () => {
  const v = new Vault(randomBytes(32));
  const parts = v.encrypt('secret', aad).split('.');
  const ct = Buffer.from(parts[3]!, 'base64url');
  ct[0] = ct[0]! ^ 1;
  parts[3] = ct.toString('base64url');
  assert.throws(() => v.decrypt(parts.join('.'), aad), /failed authentication/);
});

test('rotation: old envelopes decrypt with the previous key, new ones use the current key', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const env = new Vault(oldKey).encrypt('secret', aad);
  const rotated = new Vault(newKey, [oldKey]);
  assert.equal(rotated.isCurrent(env), false);
  assert.equal(rotated.decrypt(env, aad), 'secret');
  const env2 = rotated.encrypt('secret', aad);
  assert.equal(Vault.keyIdOfEnvelope(env2), keyIdOf(newKey));
  assert.throws(() => new Vault(newKey).decrypt(env, aad), /no master key/);
});
