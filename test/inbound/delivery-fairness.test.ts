/**
 * Tenant webhook deliveries are claimed fairly (migration 036): one tenant's backlog of due
 * deliveries to an endpoint that hangs never keeps another tenant's events from going out.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { closeApp, owner, until } from './support.js';
import { emitEvent } from '../../src/events/emit.js';
import { deliverDue, deliveriesIdle } from '../../src/events/deliver.js';
import { asTenantId, withTenant } from '../../src/db/db.js';

let t: TestApp;
const held: http.ServerResponse[] = [];
const hitsB: string[] = [];
const hitsC: string[] = [];
let hang: http.Server;
let ok: http.Server;
let ok2: http.Server;
const listen = async (s: http.Server) => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`;
};

before(async () => {
  t = await startTestApp();
  // Tenant A's endpoint takes requests and never answers until the test ends.
  hang = http.createServer((_req, res) => void held.push(res));
  ok = http.createServer((req, res) => {
    hitsB.push(String(req.headers['webhook-id']));
    res.writeHead(200).end();
  });
  ok2 = http.createServer((req, res) => {
    hitsC.push(String(req.headers['webhook-id']));
    res.writeHead(200).end();
  });
});
after(async () => {
  for (const res of held) res.writeHead(500).end();
  await deliveriesIdle(t.ctx);
  hang.closeAllConnections();
  await new Promise((r) => hang.close(r));
  await new Promise((r) => ok.close(r));
  await new Promise((r) => ok2.close(r));
  await closeApp(t);
});

test("a tenant's backlog of 2,100 due deliveries to a hanging endpoint does not hold back another tenant's", async () => {
  const [a, b] = [await t.tenant(), await t.tenant()];
  const endpoint = async (key: string, url: string) =>
    (await t.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: bearer(key), payload: { url, event_types: ['*'] } })).json() as { id: string };
  const epA = await endpoint(a.key, await listen(hang));
  await endpoint(b.key, await listen(ok));
  // A's backlog, due a minute before B's one event (a replay of all failed, a dead endpoint under traffic).
  const db = owner(t);
  await sql`insert into events (tenant_id, id, type, data) select ${a.id}, 'evt_A' || lpad(g::text, 23, '0'), 'conversation.updated', '{}' from generate_series(1, 2100) g`.execute(db);
  await sql`insert into event_deliveries (tenant_id, id, endpoint_id, event_id, next_attempt_at)
    select ${a.id}, 'dlv_A' || lpad(g::text, 23, '0'), ${epA.id}, 'evt_A' || lpad(g::text, 23, '0'), now() - interval '1 minute' from generate_series(1, 2100) g`.execute(db);
  const evtB = await withTenant(t.ctx.db, asTenantId(b.id), (tx) => emitEvent(tx, { tenantId: b.id, type: 'conversation.updated', data: {} }));

  // One claim: at most four of A's, and B's too.
  const claim = (skip: string[]) => sql<{ tenant_id: string; id: string }>`select * from sb_event_delivery_claim(32, 4, 60000, ${skip}::text[])`.execute(db);
  const first = (await claim([])).rows;
  assert.equal(first.filter((r) => r.tenant_id === a.id).length, 4);
  assert.equal(first.filter((r) => r.tenant_id === b.id).length, 1);
  await sql`update event_deliveries set locked_until = null`.execute(db);
  // A tenant the process already runs at its share is left out.
  assert.deepEqual((await claim([a.id, b.id])).rows, []);
  await sql`update event_deliveries set locked_until = null`.execute(db);

  // The worker's loop: A's endpoint holds four requests open, and B's event still goes out.
  await until("B's event delivered", async () => {
    await deliverDue(t.ctx);
    return hitsB.length > 0;
  });
  assert.equal(hitsB[0], evtB);
  // A's four requests may still be connecting when B's answer is back: wait for them, then more
  // claim rounds must not add a fifth.
  await until("A's endpoint holds its share of requests", () => held.length === 4);
  for (let i = 0; i < 5; i++) await deliverDue(t.ctx);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(held.length, 4, "A's endpoint has exactly its share of requests in flight");
});

test("a suspended tenant's deliveries are held, and go out once it is reactivated", async () => {
  const c = await t.tenant();
  await (await t.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: bearer(c.key), payload: { url: await listen(ok2), event_types: ['*'] } })).json();
  const evt = await withTenant(t.ctx.db, asTenantId(c.id), (tx) => emitEvent(tx, { tenantId: c.id, type: 'conversation.updated', data: {} }));
  const admin = bearer(t.adminKey);
  assert.equal((await t.app.inject({ method: 'PATCH', url: `/admin/tenants/${c.id}`, headers: admin, payload: { status: 'suspended' } })).statusCode, 200);
  const claimed = await sql<{ tenant_id: string }>`select * from sb_event_delivery_claim(32, 4, 60000)`.execute(owner(t));
  assert.equal(claimed.rows.filter((r) => r.tenant_id === c.id).length, 0, 'nothing of a suspended tenant is claimed');
  assert.equal((await t.app.inject({ method: 'PATCH', url: `/admin/tenants/${c.id}`, headers: admin, payload: { status: 'active' } })).statusCode, 200);
  await until('delivered after reactivation', async () => {
    await deliverDue(t.ctx);
    return hitsC.includes(evt);
  });
});
