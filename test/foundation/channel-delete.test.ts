/**
 * Deleting a channel (or a tenant) removes everything hanging from it. Since decision 026 the rows
 * reach their channel directly (contacts, conversations, messages, delivery jobs, inbox), not
 * through each other, so this pins the cascade on every table that holds per-channel data.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestApp, bearer, type TestApp } from '../support/app.js';
import { createCloudApiSimulator, type CloudApiSimulator } from '../../src/providers/cloud-api/index.js';
import { closeOwner, cloudPayload, drainAll, sign } from '../inbound/support.js';

let t: TestApp;
let sim: CloudApiSimulator;
let owner: pg.Client;
before(async () => {
  t = await startTestApp();
  sim = createCloudApiSimulator({ phones: [{ phoneNumberId: '555000000000001' }, { phoneNumberId: '555000000000002' }, { phoneNumberId: '555000000000003' }], appSecret: 'app-secret-0123456789' });
  await sim.listen();
  owner = new pg.Client({ connectionString: t.testDb.ownerUrl });
  await owner.connect();
});
after(async () => {
  await owner.end();
  await closeOwner(t);
  await t.close();
  await sim.close();
});

const TABLES = ['contacts', 'conversations', 'messages', 'delivery_jobs', 'delivery_buckets', 'inbox'] as const;
async function counts(where: string, arg: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) out[table] = Number((await owner.query(`select count(*)::int as n from ${table} where ${where} = $1`, [arg])).rows[0].n);
  return out;
}

async function populate(key: string, i: number): Promise<string> {
  const ch = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(key), payload: { name: `line ${i}`, provider: 'cloud-api', credentials: sim.credentials(i) } });
  assert.equal(ch.statusCode, 201, ch.body);
  const id = ch.json().id as string;
  // Outbound: queued messages with their jobs (no scheduler runs here).
  for (const to of ['+16505550101', '+16505550102']) assert.equal((await t.app.inject({ method: 'POST', url: '/v1/messages', headers: bearer(key), payload: { channel_id: id, to, content: { type: 'text', text: 'hi' } } })).statusCode, 202);
  // Inbound: one processed webhook, and one row still pending in the inbox (written directly: the
  // worker leaves rows younger than 2 s alone, and no inline processor knows of this one).
  const body = cloudPayload([{ phoneNumberId: sim.phones[i]!.phoneNumberId, from: '15557770001' }]);
  assert.equal((await t.app.inject({ method: 'POST', url: '/webhooks/cloud-api', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) }, payload: body })).statusCode, 200);
  await drainAll(t);
  const tenantId = (await owner.query('select tenant_id from channels where id = $1', [id])).rows[0].tenant_id as string;
  await owner.query(`insert into inbox (tenant_id, id, channel_id, provider, body) values ($1, $2, $3, 'cloud-api', '\\x7b7d')`, [tenantId, `inb_${id.slice(4)}`, id]);
  return id;
}

test('deleting a channel removes its contacts, conversations, messages, jobs, bucket and inbox rows; other channels keep theirs', async () => {
  const a = await t.tenant();
  const gone = await populate(a.key, 0);
  const kept = await populate(a.key, 1);
  const before = await counts('channel_id', gone);
  for (const table of TABLES) assert.ok(before[table]! > 0, `${table} has rows before`);
  const keptBefore = await counts('channel_id', kept);
  const del = await t.app.inject({ method: 'DELETE', url: `/v1/channels/${gone}`, headers: bearer(a.key) });
  assert.equal(del.statusCode, 204, del.body);
  assert.deepEqual(await counts('channel_id', gone), Object.fromEntries(TABLES.map((x) => [x, 0])));
  assert.deepEqual(await counts('channel_id', kept), keptBefore);
});

test('deleting a tenant removes every row of it', async () => {
  const b = await t.tenant();
  await populate(b.key, 2);
  assert.ok(Object.values(await counts('tenant_id', b.id)).some((n) => n > 0));
  const del = await t.app.inject({ method: 'DELETE', url: `/admin/tenants/${b.id}`, headers: bearer(t.adminKey) });
  assert.equal(del.statusCode, 204, del.body);
  assert.deepEqual(await counts('tenant_id', b.id), Object.fromEntries(TABLES.map((x) => [x, 0])));
  const { rows } = await owner.query(`select table_name from information_schema.columns where column_name = 'tenant_id' and table_schema = 'public'`);
  for (const r of rows) {
    const n = Number((await owner.query(`select count(*)::int as n from ${r.table_name} where tenant_id = $1`, [b.id])).rows[0].n);
    assert.equal(n, 0, `${r.table_name} still has rows of the deleted tenant`);
  }
});
