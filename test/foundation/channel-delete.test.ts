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
import { closeApp, cloudPayload, drainAll, sign } from '../inbound/support.js';

let t: TestApp;
let sim: CloudApiSimulator;
let owner: pg.Client;
before(async () => {
  t = await startTestApp();
  sim = createCloudApiSimulator({ phones: [{ phoneNumberId: '555000000000001' }, { phoneNumberId: '555000000000002' }, { phoneNumberId: '555000000000003' }, { phoneNumberId: '555000000000004' }, { phoneNumberId: '555000000000005' }], appSecret: 'app-secret-0123456789' });
  await sim.listen();
  owner = new pg.Client({ connectionString: t.testDb.ownerUrl });
  await owner.connect();
});
after(async () => {
  await owner.end();
  await closeApp(t);
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

// Since decision 029 the per-row foreign keys of the inbound tables are statement-level checks.
// They must refuse what the foreign keys refused.
test('rows naming a channel or tenant that does not exist are refused, as a foreign key would', async () => {
  const a = await t.tenant();
  const chn = await populate(a.key, 3);
  const conv = (await owner.query('select id from conversations where channel_id = $1 limit 1', [chn])).rows[0].id as string;
  const refused = async (q: string, args: unknown[]) => {
    await assert.rejects(owner.query(q, args), (err: { code?: string }) => err.code === '23503');
  };
  const missing = 'chn_00000000000000000000000000';
  await refused(`insert into inbox (tenant_id, id, channel_id, provider, body) values ($1, 'inb_x1', $2, 'cloud-api', '\\x7b7d')`, [a.id, missing]);
  await refused(`insert into contacts (tenant_id, id, channel_id, address) values ($1, 'ctc_x1', $2, '+16505550199')`, [a.id, missing]);
  await refused(`insert into conversations (tenant_id, id, channel_id, contact_id) values ($1, 'cnv_x1', $2, 'ctc_x1')`, [a.id, missing]);
  await refused(`insert into messages (tenant_id, id, channel_id, conversation_id, direction, status, type, content, peer) values ($1, 'msg_x1', $2, $3, 'in', 'received', 'text', '{}', '+16505550199')`, [a.id, missing, conv]);
  // The channel exists, but under another tenant: refused too (the key is the pair).
  const b = await t.tenant();
  await refused(`insert into messages (tenant_id, id, channel_id, conversation_id, direction, status, type, content, peer) values ($1, 'msg_x2', $2, $3, 'in', 'received', 'text', '{}', '+16505550199')`, [b.id, chn, conv]);
  // One bad row refuses the whole statement, good rows with it.
  await refused(`insert into contacts (tenant_id, id, channel_id, address) values ($1, 'ctc_x2', $2, '+16505550198'), ($1, 'ctc_x3', $3, '+16505550197')`, [a.id, chn, missing]);
  assert.equal(Number((await owner.query(`select count(*)::int as n from contacts where id in ('ctc_x2', 'ctc_x3')`)).rows[0].n), 0);
  await refused(`insert into events (tenant_id, id, type, data) values ('ten_00000000000000000000000000', 'evt_x1', 'message.received', '{}')`, []);
  // Moving a row to another channel or tenant is refused rather than left pointing anywhere.
  await refused(`update messages set channel_id = $2 where tenant_id = $1 and channel_id = $3`, [a.id, missing, chn]);
  await refused(`update events set tenant_id = $2 where tenant_id = $1`, [a.id, b.id]);
  // And a row naming an existing channel is accepted.
  await owner.query(`insert into contacts (tenant_id, id, channel_id, address) values ($1, 'ctc_x4', $2, '+16505550196')`, [a.id, chn]);
});

test('deleting a tenant removes its events (no foreign key on events since decision 029)', async () => {
  const c = await t.tenant();
  await populate(c.key, 4);
  assert.ok(Number((await owner.query('select count(*)::int as n from events where tenant_id = $1', [c.id])).rows[0].n) > 0);
  assert.equal((await t.app.inject({ method: 'DELETE', url: `/admin/tenants/${c.id}`, headers: bearer(t.adminKey) })).statusCode, 204);
  assert.equal(Number((await owner.query('select count(*)::int as n from events where tenant_id = $1', [c.id])).rows[0].n), 0);
});
