/**
 * `vault rotate` against a concurrent credential change (review of 2026-12-01): a PATCH that answers
 * 200 is never undone by a rotation that read the row before it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, UnknownRow } from 'kysely';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { createCloudApiSimulator, type CloudApiSimulator } from '../../src/providers/cloud-api/index.js';
import { Vault } from '../../src/crypto/vault.js';
import { SEALED_COLUMNS } from '../../src/crypto/sealed-columns.js';
import { asTenantId, withTenant } from '../../src/db/db.js';
import { openCredentials } from '../../src/channels/service.js';

const oldKey = randomBytes(32);
const newKey = randomBytes(32);
let t: TestApp;
let sim: CloudApiSimulator;
before(async () => {
  sim = createCloudApiSimulator({ phones: [{ phoneNumberId: '7100001' }] });
  await sim.listen();
  t = await startTestApp({ MASTER_KEY: newKey.toString('base64'), MASTER_KEY_PREVIOUS: oldKey.toString('base64') });
});
after(async () => {
  await t.close();
  await sim.close();
});

test('a credential PATCH during a rotation is either kept (200) or refused (409), never answered 200 and then lost', async () => {
  const tn = await t.tenant();
  const made = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(tn.key), payload: { name: 'l', provider: 'cloud-api', credentials: sim.credentials(0) } });
  assert.equal(made.statusCode, 201, made.body);
  const id = made.json().id as string;
  // The channel's secrets as a deployment still on the old key left them.
  await t.asOwner(async (o) => {
    const r = (await o.query('select tenant_id, id, secrets_enc from channels where id = $1', [id])).rows[0];
    const aad = { tenantId: r.tenant_id, recordId: r.id };
    await o.query('update channels set secrets_enc = $1 where id = $2', [new Vault(oldKey).encrypt(new Vault(newKey, [oldKey]).decrypt(r.secrets_enc, aad), aad), id]);
  });
  // Between the rotation's read and its write, a tenant changes a secret (and is given time to finish).
  let patch: Promise<{ statusCode: number }> | undefined;
  const between: KyselyPlugin = {
    transformQuery: (a: PluginTransformQueryArgs) => a.node,
    async transformResult(a: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      if (!patch) {
        patch = t.app.inject({ method: 'PATCH', url: `/v1/channels/${id}`, headers: bearer(tn.key), payload: { credentials: { verifyToken: 'NEW-verify-token' } } });
        await new Promise((r) => setTimeout(r, 500));
      }
      return a.result;
    },
  };
  const rotated = await withTenant(t.ctx.db, asTenantId(tn.id), (tx) => SEALED_COLUMNS[0]!.rotate(tx.withPlugin(between), t.ctx.vault));
  assert.equal(rotated, 1);
  const answer = (await patch!).statusCode;
  const row = await withTenant(t.ctx.db, asTenantId(tn.id), (tx) => tx.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
  const stored = openCredentials(t.ctx, row as never);
  assert.ok([200, 409].includes(answer), `PATCH answered ${answer}`);
  assert.equal(stored.verifyToken, answer === 200 ? 'NEW-verify-token' : 'sim-verify-token', `PATCH answered ${answer}`);
  assert.ok(t.ctx.vault.isCurrent(row.secrets_enc), 'under the new key');
});
