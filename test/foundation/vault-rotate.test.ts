import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, TEST_APP_ROLE, type TestDatabase } from '../support/db.js';
import { runCli } from '../support/cli.js';
import { keyIdOf, Vault } from '../../src/crypto/vault.js';
import { createCloudApiSimulator, type CloudApiSimulator } from '../../src/providers/cloud-api/index.js';

/** `vault rotate`: every sealed column moves to the new key, and the secrets still work. */
let db: TestDatabase;
let sim: CloudApiSimulator;
before(async () => {
  db = await createTestDatabase();
  sim = createCloudApiSimulator({ phones: [{ phoneNumberId: '7000001', wabaId: '8000001', accessToken: 'EAAG-rotate-token-01' }] });
  await sim.listen();
});
after(async () => {
  await sim.close();
  await db.drop();
});

test('rotation re-encrypts channel secrets under the new key; the old key can then be dropped', { timeout: 120_000 }, async () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const base = { DATABASE_URL: db.ownerUrl, DB_APP_ROLE: TEST_APP_ROLE, EGRESS_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'warn' };
  const withOld = { ...base, MASTER_KEY: oldKey.toString('base64') };
  assert.equal((await runCli(['tenants', 'create', '--slug', 'rot', '--json'], withOld)).code, 0);
  const creds = JSON.stringify({ phoneNumberId: '7000001', wabaId: '8000001', accessToken: 'EAAG-rotate-token-01', appSecret: 'rotate-secret', verifyToken: 'v', graphBaseUrl: sim.url });
  const add = await runCli(['channels', 'add', '--tenant', 'rot', '--provider', 'cloud-api', '--name', 'l', '--credentials', creds, '--json'], withOld);
  assert.equal(add.code, 0, add.stderr);

  const envelopes = async () => {
    const c = new pg.Client({ connectionString: db.ownerUrl });
    await c.connect();
    try {
      return (await c.query<{ e: string }>('select secrets_enc as e from channels')).rows.map((r) => r.e.split('.')[1]);
    } finally {
      await c.end();
    }
  };
  assert.deepEqual(await envelopes(), [keyIdOf(oldKey)]);

  // Without the old key the new one cannot read the secret: rotation needs MASTER_KEY_PREVIOUS.
  const rotated = await runCli(['vault', 'rotate'], { ...base, MASTER_KEY: newKey.toString('base64'), MASTER_KEY_PREVIOUS: oldKey.toString('base64') });
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, /1 secret\(s\) re-encrypted/);
  assert.deepEqual(await envelopes(), [keyIdOf(newKey)]);
  const again = await runCli(['vault', 'rotate'], { ...base, MASTER_KEY: newKey.toString('base64') });
  assert.match(again.stdout, /0 secret\(s\) re-encrypted/, 'a second run has nothing left to do');

  // The new key alone now opens the secret, bound to the same tenant and channel.
  const c = new pg.Client({ connectionString: db.ownerUrl });
  await c.connect();
  const row = (await c.query<{ tenant_id: string; id: string; secrets_enc: string }>('select tenant_id, id, secrets_enc from channels')).rows[0]!;
  // Recorded in the tenant's audit log, once (the second run changed nothing), with no secret.
  const audited = (await c.query<{ details: Record<string, unknown> }>("select details from audit_log where tenant_id = $1 and action = 'vault.rotated'", [row.tenant_id])).rows;
  await c.end();
  assert.deepEqual(audited.map((a) => a.details), [{ reencrypted: 1, now_under: keyIdOf(newKey) }]);
  const opened = JSON.parse(new Vault(newKey).decrypt(row.secrets_enc, { tenantId: row.tenant_id, recordId: row.id })) as { accessToken: string };
  assert.equal(opened.accessToken, 'EAAG-rotate-token-01');
  assert.throws(() => new Vault(oldKey).decrypt(row.secrets_enc, { tenantId: row.tenant_id, recordId: row.id }), /no master key/);
});
