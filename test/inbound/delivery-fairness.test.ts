/**
 * Tenant webhook deliveries are claimed fairly (migration 036): one tenant's backlog of due
 * deliveries to an endpoint that hangs never keeps another tenant's events from going out; a failing
 * endpoint is probed one delivery at a time outside the main slots (migration 042, decision 052).
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
  const claim = (running: [string, number][]) => sql<{ tenant_id: string; id: string }>`select * from sb_event_delivery_claim_lanes(32, 4, 60000,
    ${running.map(([id]) => id)}::text[], ${running.map(([, n]) => n)}::int[], 32, '{}', '{}', '{}')`.execute(db);
  const first = (await claim([])).rows;
  assert.equal(first.filter((r) => r.tenant_id === a.id).length, 4);
  assert.equal(first.filter((r) => r.tenant_id === b.id).length, 1);
  await sql`update event_deliveries set locked_until = null`.execute(db);
  // A tenant the process already runs at its share is left out; one with room gets only that room.
  assert.deepEqual((await claim([[a.id, 4], [b.id, 4]])).rows, []);
  await sql`update event_deliveries set locked_until = null`.execute(db);
  const room = (await claim([[a.id, 3]])).rows;
  assert.equal(room.filter((r) => r.tenant_id === a.id).length, 1, 'three of four running: one more');
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
  const claimed = await sql<{ tenant_id: string }>`select * from sb_event_delivery_claim_lanes(32, 4, 60000, '{}', '{}', 32, '{}', '{}', '{}')`.execute(owner(t));
  assert.equal(claimed.rows.filter((r) => r.tenant_id === c.id).length, 0, 'nothing of a suspended tenant is claimed');
  assert.equal((await t.app.inject({ method: 'PATCH', url: `/admin/tenants/${c.id}`, headers: admin, payload: { status: 'active' } })).statusCode, 200);
  await until('delivered after reactivation', async () => {
    await deliverDue(t.ctx);
    return hitsC.includes(evt);
  });
});

/** A server that keeps every request open (answered 500 when the file ends); requests by path. */
const holding = () => {
  const open: { path: string; res: http.ServerResponse }[] = [];
  const server = http.createServer((req, res) => void open.push({ path: String(req.url), res }));
  return { server, open, count: (path: string) => open.filter((o) => o.path === path).length };
};
const failing = holding();
after(async () => {
  for (const o of failing.open) o.res.writeHead(500).end();
  await deliveriesIdle(t.ctx);
  failing.server.closeAllConnections();
  await new Promise((r) => failing.server.close(r));
});

/** An endpoint of `tenant` at `url` with `n` deliveries due a minute ago; `failingSince` as its last failed attempt left it. */
async function endpointWithBacklog(tenant: { id: string; key: string }, url: string, n: number, failingSince: boolean): Promise<string> {
  const ep = (await t.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: bearer(tenant.key), payload: { url, event_types: ['*'] } })).json() as { id: string };
  const db = owner(t);
  if (failingSince) await sql`update webhook_endpoints set failing_since = now() - interval '1 hour' where id = ${ep.id}`.execute(db);
  const tag = ep.id.slice(-8);
  await sql`insert into events (tenant_id, id, type, data) select ${tenant.id}, 'evt_' || ${tag} || lpad(g::text, 18, '0'), 'conversation.updated', '{}' from generate_series(1, ${n}::int) g`.execute(db);
  await sql`insert into event_deliveries (tenant_id, id, endpoint_id, event_id, next_attempt_at)
    select ${tenant.id}, 'dlv_' || ${tag} || lpad(g::text, 18, '0'), ${ep.id}, 'evt_' || ${tag} || lpad(g::text, 18, '0'), now() - interval '1 minute'
    from generate_series(1, ${n}::int) g`.execute(db);
  return ep.id;
}

/** A receiver answering 200 at once, and the paths it was sent. */
async function healthyReceiver() {
  const hits: string[] = [];
  const healthy = http.createServer((req, res) => {
    hits.push(String(req.url));
    res.writeHead(200).end();
  });
  return { hits, healthy, healthyBase: await listen(healthy) };
}

test("failing endpoints are probed one delivery at a time and hold none of the main slots: nine tenants' dead endpoints delay neither their own healthy endpoints nor a tenth tenant", async () => {
  failing.server.listen(0, '127.0.0.1');
  await new Promise((r) => failing.server.once('listening', r));
  const base = `http://127.0.0.1:${(failing.server.address() as AddressInfo).port}`;
  const { hits, healthy, healthyBase } = await healthyReceiver();
  try {
    // Nine tenants, each with two dead endpoints (backlogs of 50 due deliveries) and one healthy one
    // with a single due delivery; a tenth tenant with only a healthy endpoint. Before migration 042,
    // eight tenants' dead endpoints held all 32 slots (four each) and the rest waited.
    const tenants = await Promise.all(Array.from({ length: 10 }, () => t.tenant()));
    const dead: string[] = [];
    for (const [i, tenant] of tenants.entries()) {
      if (i < 9) for (const d of [1, 2]) dead.push(await endpointWithBacklog(tenant, `${base}/dead-${i}-${d}`, 50, true));
      await endpointWithBacklog(tenant, `${healthyBase}?t=${i}`, 1, false);
    }
    await until('every healthy endpoint got its delivery', async () => {
      await deliverDue(t.ctx);
      return tenants.every((_, i) => hits.some((h) => h.endsWith(`?t=${i}`)));
    });
    // Each dead endpoint has exactly one request open, however many claim rounds run.
    await until('each dead endpoint probed', () => failing.open.length >= dead.length);
    for (let i = 0; i < 5; i++) await deliverDue(t.ctx);
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 9; i++) for (const d of [1, 2]) assert.equal(failing.count(`/dead-${i}-${d}`), 1, `dead-${i}-${d} has one probe in flight`);
  } finally {
    await new Promise((r) => healthy.close(r));
  }
});

test('a failing endpoint is probed one request at a time, probe after probe, until its backlog is worked through', async () => {
  const tenant = await t.tenant();
  let open = 0;
  let most = 0;
  const seen = new Set<string>();
  const failingFast = http.createServer((req, res) => {
    open += 1;
    most = Math.max(most, open);
    seen.add(String(req.headers['webhook-id']));
    setTimeout(() => {
      open -= 1;
      res.writeHead(500).end();
    }, 20);
  });
  const url = await listen(failingFast);
  try {
    await endpointWithBacklog(tenant, url, 5, true);
    await until('each of the five deliveries attempted', async () => {
      await deliverDue(t.ctx);
      return seen.size === 5;
    });
    assert.equal(most, 1, 'never two requests at once');
  } finally {
    failingFast.closeAllConnections();
    await new Promise((r) => failingFast.close(r));
  }
});

test('a failing endpoint whose probe succeeds is back in the main lane: one request until then, up to four at once after', async () => {
  const tenant = await t.tenant();
  const open: http.ServerResponse[] = [];
  let releaseFirst: (() => void) | undefined;
  let requests = 0;
  const recovering = http.createServer((_req, res) => {
    requests += 1;
    if (requests === 1) releaseFirst = () => res.writeHead(200).end();
    else open.push(res);
  });
  const url = await listen(recovering);
  try {
    const ep = await endpointWithBacklog(tenant, url, 20, true);
    await until('the probe arrived', async () => {
      await deliverDue(t.ctx);
      return releaseFirst !== undefined;
    });
    // While the probe is open, more claim rounds send nothing else to this endpoint.
    for (let i = 0; i < 5; i++) await deliverDue(t.ctx);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(requests, 1, 'one probe while failing');
    releaseFirst!();
    await until('the endpoint is healthy again', async () => {
      const row = await sql<{ failing_since: Date | null }>`select failing_since from webhook_endpoints where id = ${ep}`.execute(owner(t));
      return row.rows[0]!.failing_since === null;
    });
    await until('four requests in flight', async () => {
      await deliverDue(t.ctx);
      return open.length === 4;
    });
    for (let i = 0; i < 5; i++) await deliverDue(t.ctx);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(open.length, 4, "the main lane's per-tenant cap holds");
  } finally {
    // (Not deliveriesIdle: the earlier tests' held requests are still open until the file ends.)
    for (const res of open) res.writeHead(200).end();
    recovering.closeAllConnections();
    await new Promise((r) => recovering.close(r));
  }
});

test("endpoints that answer slowly (not failing) hold only their own tenant's four slots: twelve such tenants do not hold back a thirteenth", async () => {
  // Answered only when the test says so: slow, not failing (no failing_since, so the main lane).
  const slow = holding();
  const slowBase = await listen(slow.server);
  const { hits, healthy, healthyBase } = await healthyReceiver();
  try {
    const tenants = await Promise.all(Array.from({ length: 13 }, () => t.tenant()));
    for (const [i, tenant] of tenants.slice(0, 12).entries()) await endpointWithBacklog(tenant, `${slowBase}/slow-${i}`, 10, false);
    await until('every slow tenant has its four requests open', async () => {
      await deliverDue(t.ctx);
      return slow.open.length >= 48;
    });
    // Before: 32 slots a process, and twelve tenants at four each held them all (decision 052's
    // "eight such tenants would fill a process"); the thirteenth waited for a slow answer.
    await endpointWithBacklog(tenants[12]!, `${healthyBase}?t=13`, 1, false);
    const start = Date.now();
    await until("the thirteenth tenant's delivery", async () => {
      await deliverDue(t.ctx);
      return hits.some((h) => h.endsWith('?t=13'));
    }, 3_000);
    assert.ok(Date.now() - start < 2_000, `${Date.now() - start} ms`);
    assert.equal(slow.open.length, 48, 'still four a tenant');
  } finally {
    for (const o of slow.open) o.res.writeHead(200).end();
    slow.server.closeAllConnections();
    await new Promise((r) => slow.server.close(r));
    await new Promise((r) => healthy.close(r));
  }
});
