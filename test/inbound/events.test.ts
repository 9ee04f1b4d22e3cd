import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { sql } from 'kysely';
import pino from 'pino';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { createAppContext } from '../../src/app/root.js';
import { deliverDue, deliveriesIdle, finishDeliveries } from '../../src/events/deliver.js';
import { emitEvent } from '../../src/events/emit.js';
import { asTenantId, withTenant } from '../../src/db/db.js';
import { closeApp, cloudCreds, cloudPayload, drainAll, makeChannel, owner, postCloud, until } from './support.js';

/**
 * Standard Webhooks verification written from the spec text (standardwebhooks.com, "Verifying
 * webhooks"), independent of src/events/signing.ts: base64-decode the secret after `whsec_`, HMAC-
 * SHA256 over `id.timestamp.body`, compare against each space-separated `v1,<base64>` signature.
 */
function verifyStandardWebhook(secret: string, headers: http.IncomingHttpHeaders, body: string): boolean {
  const id = String(headers['webhook-id'] ?? '');
  const ts = String(headers['webhook-timestamp'] ?? '');
  if (!id || !/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const expected = createHmac('sha256', Buffer.from(secret.split('_')[1]!, 'base64')).update(`${id}.${ts}.${body}`).digest();
  return String(headers['webhook-signature'] ?? '').split(' ').some((part) => {
    const [version, sig] = part.split(',');
    if (version !== 'v1' || !sig) return false;
    const got = Buffer.from(sig, 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

interface Hit { headers: http.IncomingHttpHeaders; body: string; at: number; socket: Socket }
class Receiver {
  hits: Hit[] = [];
  respond: (n: number) => { status: number; headers?: Record<string, string>; delayMs?: number; body?: Buffer } = () => ({ status: 200 });
  /** Connections not yet closed (server side). */
  open = new Set<Socket>();
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      this.hits.push({ headers: req.headers, body, at: Date.now(), socket: req.socket });
      const r = this.respond(this.hits.length);
      setTimeout(() => res.writeHead(r.status, r.headers ?? {}).end(r.body ?? 'ok'), r.delayMs ?? 0);
    });
  }).on('connection', (s: Socket) => {
    this.open.add(s);
    s.on('close', () => this.open.delete(s));
  });
  url = '';
  async listen() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  close() {
    this.server.closeAllConnections();
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('tenant webhook endpoints and signed deliveries', () => {
  let t: TestApp;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  const rxA = new Receiver();
  const rxB = new Receiver();
  let seq = 0;
  before(async () => {
    t = await startTestApp();
    a = await t.tenant();
    b = await t.tenant();
    await makeChannel(t, a.id, 'cloud-api', cloudCreds('888000888'));
    await makeChannel(t, b.id, 'cloud-api', cloudCreds('999000999'));
    await rxA.listen();
    await rxB.listen();
  });
  after(async () => {
    await deliveriesIdle(t.ctx);
    await rxA.close();
    await rxB.close();
    await closeApp(t);
  });
  beforeEach(async () => {
    rxA.hits = [];
    rxB.hits = [];
    rxA.respond = () => ({ status: 200 });
    rxB.respond = () => ({ status: 200 });
    await owner(t).deleteFrom('webhook_endpoints').execute();
  });

  const endpoint = async (tenant: { key: string }, url: string, types = ['message.received']) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: bearer(tenant.key), payload: { url, event_types: types } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: string; secret: string };
  };
  const inbound = async (line: string, n = 1) => {
    const msgs = Array.from({ length: n }, () => ({ phoneNumberId: line, from: '15550001234', id: `wamid.ev.${++seq}` }));
    assert.equal((await postCloud(t, cloudPayload(msgs))).statusCode, 200);
    await drainAll(t);
  };
  const deliverAll = async () => {
    while ((await deliverDue(t.ctx)) > 0) { /* claim until nothing is due */ }
    await deliveriesIdle(t.ctx);
  };
  const withTenantEvent = (tenantId: string) =>
    withTenant(t.ctx.db, asTenantId(tenantId), (tx) => emitEvent(tx, { tenantId, type: 'conversation.updated', data: {} }));
  const due = () => owner(t).updateTable('event_deliveries').set({ next_attempt_at: sql`now()` }).where('status', '=', 'pending').execute();

  it('delivers a signed event verifiable per the Standard Webhooks spec; the secret is sealed', async () => {
    const ep = await endpoint(a, rxA.url);
    assert.match(ep.secret, /^whsec_/);
    await inbound('888000888');
    await deliverAll();
    assert.equal(rxA.hits.length, 1);
    const hit = rxA.hits[0]!;
    assert.ok(verifyStandardWebhook(ep.secret, hit.headers, hit.body));
    assert.ok(!verifyStandardWebhook('whsec_' + Buffer.from('wrong-secret-bytes').toString('base64'), hit.headers, hit.body));
    const payload = JSON.parse(hit.body);
    assert.equal(payload.type, 'message.received');
    assert.equal(hit.headers['webhook-id'], payload.id);
    const row = await owner(t).selectFrom('webhook_endpoints').select('secret_enc').where('id', '=', ep.id).executeTakeFirstOrThrow();
    assert.ok(!row.secret_enc.includes(ep.secret.slice(6)));
    assert.equal(rxB.hits.length, 0);
  });

  it('retries with backoff honouring Retry-After, logs status and latency, replays one delivery', async () => {
    const ep = await endpoint(a, rxA.url);
    rxA.respond = () => ({ status: 503, headers: { 'retry-after': '120' } });
    await inbound('888000888');
    await deliverAll();
    const d = await owner(t).selectFrom('event_deliveries').selectAll().where('endpoint_id', '=', ep.id).executeTakeFirstOrThrow();
    assert.equal(d.status, 'pending');
    assert.equal(d.attempts, 1);
    assert.ok(new Date(d.next_attempt_at as Date).getTime() - Date.now() > 110_000);
    rxA.respond = () => ({ status: 200 });
    await due();
    await deliverAll();
    const log = (await t.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${ep.id}/deliveries`, headers: bearer(a.key) })).json();
    assert.equal(log.data[0].status, 'succeeded');
    assert.deepEqual(log.data[0].log.map((x: { status_code: number }) => x.status_code), [503, 200]);
    assert.ok(log.data[0].log.every((x: { latency_ms: number }) => x.latency_ms >= 0));
    const replay = await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/deliveries/${log.data[0].id}/replay`, headers: bearer(a.key) });
    assert.equal(replay.statusCode, 202, replay.body);
    await deliverAll();
    assert.equal(rxA.hits.length, 3);
    assert.equal(rxA.hits[2]!.headers['webhook-id'], rxA.hits[1]!.headers['webhook-id']);
    // Another tenant cannot see or replay it.
    assert.equal((await t.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${ep.id}`, headers: bearer(b.key) })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/deliveries/${log.data[0].id}/replay`, headers: bearer(b.key) })).statusCode, 404);
  });

  it('410 disables the endpoint with an event and an audit entry', async () => {
    const ep = await endpoint(a, rxA.url);
    rxA.respond = () => ({ status: 410 });
    await inbound('888000888');
    await deliverAll();
    const e = await owner(t).selectFrom('webhook_endpoints').selectAll().where('id', '=', ep.id).executeTakeFirstOrThrow();
    assert.equal(e.status, 'disabled');
    assert.equal(e.disabled_reason, 'gone');
    const audit = await owner(t).selectFrom('audit_log').select('action').where('tenant_id', '=', a.id).where('target_id', '=', ep.id).execute();
    assert.ok(audit.some((x) => x.action === 'webhook_endpoint.disabled'));
    const ev = await owner(t).selectFrom('events').select('data').where('tenant_id', '=', a.id).where('type', '=', 'webhook_endpoint.disabled').execute();
    assert.ok(ev.some((x) => (x.data as { endpoint_id: string }).endpoint_id === ep.id));
  });

  it('four deliveries in flight all answered 410 disable the endpoint once: one audit entry, one event', async () => {
    const ep = await endpoint(a, rxA.url);
    // Held 300 ms so all four are in flight before the first 410 is recorded.
    rxA.respond = () => ({ status: 410, delayMs: 300 });
    await inbound('888000888', 4);
    await deliverAll();
    assert.equal(rxA.hits.length, 4);
    const e = await owner(t).selectFrom('webhook_endpoints').selectAll().where('id', '=', ep.id).executeTakeFirstOrThrow();
    assert.equal(e.status, 'disabled');
    const audits = await owner(t).selectFrom('audit_log').select('id').where('tenant_id', '=', a.id).where('target_id', '=', ep.id).where('action', '=', 'webhook_endpoint.disabled').execute();
    assert.equal(audits.length, 1);
    const evs = await owner(t).selectFrom('events').select('data').where('tenant_id', '=', a.id).where('type', '=', 'webhook_endpoint.disabled').execute();
    assert.equal(evs.filter((x) => (x.data as { endpoint_id: string }).endpoint_id === ep.id).length, 1);
  });

  it('the egress policy is checked when connecting: endpoints saved while private addresses were allowed get no request once they are not', async () => {
    const port = new URL(rxA.url).port;
    // Saved under EGRESS_ALLOW_PRIVATE=true (this app); one as an IPv4-mapped loopback literal.
    const plain = await endpoint(a, rxA.url);
    const mapped = await endpoint(b, `http://[::ffff:127.0.0.1]:${port}/hook`, ['*']);
    await inbound('888000888');
    await withTenantEvent(b.id);
    // The operator restarts with EGRESS_ALLOW_PRIVATE=false: same database, another process's context.
    const strict = createAppContext({ config: { ...t.ctx.config, egressAllowPrivate: false }, appUrl: t.testDb.appUrl, logger: pino({ level: 'silent' }) });
    try {
      while ((await deliverDue(strict.ctx)) > 0) { /* claim until nothing is due */ }
      await deliveriesIdle(strict.ctx);
    } finally {
      await strict.close();
    }
    assert.equal(rxA.hits.length, 0);
    for (const ep of [plain, mapped]) {
      const d = await owner(t).selectFrom('event_deliveries').selectAll().where('endpoint_id', '=', ep.id).executeTakeFirstOrThrow();
      assert.equal(d.attempts, 1);
      assert.equal(d.status, 'pending'); // retried on the usual schedule, like any failed attempt
      assert.match(String(d.last_error), /internal address/);
      assert.equal(d.last_status_code, null);
    }
  });

  it("a receiver answering with a large body: the status counts, its connection is closed; a context's close destroys its delivery connections", async () => {
    const ep = await endpoint(a, rxA.url);
    // Past the 64 KB drained behind a delivery's answer.
    rxA.respond = () => ({ status: 200, body: Buffer.alloc(1024 * 1024, 120) });
    await inbound('888000888');
    await deliverAll();
    const d = await owner(t).selectFrom('event_deliveries').selectAll().where('endpoint_id', '=', ep.id).executeTakeFirstOrThrow();
    assert.deepEqual([d.status, d.last_status_code, d.last_error], ['succeeded', 200, null]);
    await until('the connection is closed', () => !rxA.open.has(rxA.hits[0]!.socket), 1000);
    // Another context delivers over its own keep-alive connection, which it destroys when closed.
    rxA.respond = () => ({ status: 200 });
    const other = createAppContext({ config: t.ctx.config, appUrl: t.testDb.appUrl, logger: pino({ level: 'silent' }) });
    try {
      await inbound('888000888');
      while ((await deliverDue(other.ctx)) > 0) { /* claim until nothing is due */ }
      await deliveriesIdle(other.ctx);
      assert.equal(rxA.hits.length, 2);
      assert.ok(rxA.open.has(rxA.hits[1]!.socket), 'kept alive after the delivery');
    } finally {
      await other.close();
    }
    // Well inside the 4 s an idle delivery connection is kept anyway.
    await until("the closed context's connection is closed", () => !rxA.open.has(rxA.hits[1]!.socket), 1000);
  });

  it('stopping: a delivery in flight finishes within the grace; one still running after it is handed back for another process', async () => {
    const ep = await endpoint(a, rxA.url);
    const row = () => owner(t).selectFrom('event_deliveries').selectAll().where('endpoint_id', '=', ep.id).executeTakeFirstOrThrow();
    rxA.respond = () => ({ status: 200, delayMs: 300 });
    await inbound('888000888');
    assert.equal(await deliverDue(t.ctx), 1);
    await finishDeliveries(t.ctx, 5_000);
    assert.equal((await row()).status, 'succeeded');

    await owner(t).deleteFrom('event_deliveries').where('endpoint_id', '=', ep.id).execute();
    rxA.respond = () => ({ status: 200, delayMs: 1_500 });
    await inbound('888000888');
    assert.equal(await deliverDue(t.ctx), 1);
    assert.ok((await row()).locked_until, 'leased while in flight');
    const started = Date.now();
    await finishDeliveries(t.ctx, 200);
    assert.ok(Date.now() - started < 1_000, 'returns after the grace, not after the attempt');
    const handedBack = await row();
    assert.deepEqual([handedBack.status, handedBack.locked_until], ['pending', null]);
    await deliveriesIdle(t.ctx);

    // Handed back, sent and recorded by another process, then this process's late answer comes — a
    // failure on the last try: it must not turn that success into `failed` nor start the failure clock.
    await owner(t).deleteFrom('event_deliveries').where('endpoint_id', '=', ep.id).execute();
    rxA.respond = () => ({ status: 500, delayMs: 800 });
    await inbound('888000888');
    await owner(t).updateTable('event_deliveries').set({ attempts: 7 }).where('endpoint_id', '=', ep.id).execute();
    assert.equal(await deliverDue(t.ctx), 1);
    await finishDeliveries(t.ctx, 100);
    await owner(t).updateTable('event_deliveries').set({ status: 'succeeded', attempts: 8, last_status_code: 200 }).where('endpoint_id', '=', ep.id).execute();
    await deliveriesIdle(t.ctx);
    const late = await row();
    assert.deepEqual([late.status, late.last_status_code], ['succeeded', 200], 'the other process’s success stands');
    const e = await owner(t).selectFrom('webhook_endpoints').select(['failing_since', 'status']).where('id', '=', ep.id).executeTakeFirstOrThrow();
    assert.deepEqual([e.status, e.failing_since], ['enabled', null]);
    rxA.respond = () => ({ status: 200 });
  });

  it('a failure after a day without attempts starts a new run: a month-old failure does not disable the endpoint at once', async () => {
    const ep = await endpoint(a, rxA.url);
    rxA.respond = () => ({ status: 503 });
    const day = 24 * 3600_000;
    // The endpoint's last run of failures ended a month ago (its deliveries gave up); no events since.
    await owner(t).updateTable('webhook_endpoints').set({ failing_since: new Date(Date.now() - 31 * day), last_failed_at: new Date(Date.now() - 30 * day) }).where('id', '=', ep.id).execute();
    await inbound('888000888', 1);
    await deliverAll();
    const e = await owner(t).selectFrom('webhook_endpoints').selectAll().where('id', '=', ep.id).executeTakeFirstOrThrow();
    assert.equal(e.status, 'enabled', 'one 503 after a month of silence is not five days of failing');
    assert.ok(Date.now() - new Date(e.failing_since!).getTime() < 60_000, 'the new run starts now');
    // Within a run (the last failure an hour ago) the five days still count from its start.
    await owner(t).updateTable('webhook_endpoints').set({ failing_since: new Date(Date.now() - 5 * day - 1000), last_failed_at: new Date(Date.now() - 3600_000) }).where('id', '=', ep.id).execute();
    await owner(t).updateTable('event_deliveries').set({ next_attempt_at: new Date() }).where('endpoint_id', '=', ep.id).where('status', '=', 'pending').execute();
    await deliverAll();
    const after = await owner(t).selectFrom('webhook_endpoints').selectAll().where('id', '=', ep.id).executeTakeFirstOrThrow();
    assert.deepEqual([after.status, after.disabled_reason], ['disabled', 'failing']);
    rxA.respond = () => ({ status: 200 });
  });

  it('an endpoint failing for 5 days is disabled; replay of all failed since a time re-queues them', async () => {
    const ep = await endpoint(a, rxA.url);
    rxA.respond = () => ({ status: 500 });
    await owner(t).updateTable('webhook_endpoints').set({ failing_since: new Date(Date.now() - 5 * 24 * 3600 * 1000 - 1000) }).where('id', '=', ep.id).execute();
    await inbound('888000888', 2);
    await deliverAll();
    const e = await owner(t).selectFrom('webhook_endpoints').selectAll().where('id', '=', ep.id).executeTakeFirstOrThrow();
    assert.equal(e.status, 'disabled');
    assert.equal(e.disabled_reason, 'failing');
    // Re-enable, fail the pending ones for good, replay everything failed since an hour ago.
    await t.app.inject({ method: 'PATCH', url: `/v1/webhook-endpoints/${ep.id}`, headers: bearer(a.key), payload: { status: 'enabled' } });
    await owner(t).updateTable('event_deliveries').set({ status: 'failed' }).where('endpoint_id', '=', ep.id).execute();
    rxA.hits = [];
    rxA.respond = () => ({ status: 200 });
    const r = await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/replay`, headers: bearer(a.key), payload: { since: new Date(Date.now() - 3600_000).toISOString() } });
    assert.equal(r.statusCode, 202, r.body);
    assert.equal(r.json().queued, 2);
    await deliverAll();
    assert.equal(rxA.hits.length, 2);
    // Asked again: those events have been received since, so nothing is sent twice.
    const again = await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/replay`, headers: bearer(a.key), payload: { since: new Date(Date.now() - 3600_000).toISOString() } });
    assert.equal(again.json().queued, 0, again.body);
    // A disabled endpoint gets no attempts: a replay to it is refused, not queued to fail unseen.
    await t.app.inject({ method: 'PATCH', url: `/v1/webhook-endpoints/${ep.id}`, headers: bearer(a.key), payload: { status: 'disabled' } });
    const disabled = await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/replay`, headers: bearer(a.key), payload: { since: new Date(Date.now() - 3600_000).toISOString() } });
    assert.equal(disabled.statusCode, 409, disabled.body);
    assert.equal(disabled.json().code, 'conflict');
    // Events emitted while it is disabled get no deliveries: "what failed" cannot bring them back,
    // `missed` does — once, and only the types it subscribes to.
    await inbound('888000888', 2);
    await t.app.inject({ method: 'PATCH', url: `/v1/webhook-endpoints/${ep.id}`, headers: bearer(a.key), payload: { status: 'enabled' } });
    const since = new Date(Date.now() - 60_000).toISOString();
    const failedOnly = await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/replay`, headers: bearer(a.key), payload: { since } });
    assert.equal(failedOnly.json().queued, 0, failedOnly.body);
    rxA.hits = [];
    const missed = await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/replay`, headers: bearer(a.key), payload: { since, missed: true } });
    assert.equal(missed.statusCode, 202, missed.body);
    assert.equal(missed.json().queued, 2, missed.body);
    await deliverAll();
    assert.equal(rxA.hits.length, 2);
    const twice = await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/replay`, headers: bearer(a.key), payload: { since, missed: true } });
    assert.equal(twice.json().queued, 0, 'received since: nothing twice');
  });

  it('secret rotation: both secrets sign during the overlap', async () => {
    const ep = await endpoint(a, rxA.url);
    const first = await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/rotate-secret`, headers: bearer(a.key) });
    assert.equal(first.statusCode, 200, first.body);
    const rot = first.json();
    assert.notEqual(rot.secret, ep.secret);
    await inbound('888000888');
    await deliverAll();
    const hit = rxA.hits[0]!;
    assert.ok(verifyStandardWebhook(rot.secret, hit.headers, hit.body));
    assert.ok(verifyStandardWebhook(ep.secret, hit.headers, hit.body));
    assert.equal(String(hit.headers['webhook-signature']).split(' ').length, 2);
    // Again while the first overlap runs: refused, since it would end the first secret before the
    // time the first answer gave; with previous_expires_in_seconds 0 (a leaked secret) every older
    // secret ends now and only the new one signs.
    const rotate = (payload?: object) => t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/rotate-secret`, headers: bearer(a.key), ...(payload ? { payload } : {}) });
    const refused = await rotate();
    assert.equal(refused.statusCode, 409, refused.body);
    // Another tenant cannot rotate (or learn of) this endpoint's secret.
    const foreign = await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/rotate-secret`, headers: bearer(b.key), payload: { previous_expires_in_seconds: 0 } });
    assert.equal(foreign.statusCode, 404, foreign.body);
    assert.equal((await rotate({ previous_expires_in_seconds: 86_401 })).statusCode, 400);
    const now = await rotate({ previous_expires_in_seconds: 0 });
    assert.equal(now.statusCode, 200, now.body);
    rxA.hits = [];
    await inbound('888000888');
    await deliverAll();
    const only = rxA.hits[0]!;
    assert.ok(verifyStandardWebhook(now.json().secret, only.headers, only.body));
    assert.equal(String(only.headers['webhook-signature']).split(' ').length, 1);
    // After an immediate end, a normal rotation (24 h overlap) is allowed again.
    assert.equal((await rotate({})).statusCode, 200);
  });

  it('replay since a time takes deliveries that failed since then, whenever they were queued', async () => {
    const ep = await endpoint(a, rxA.url);
    await inbound('888000888', 2);
    // Both queued two hours ago; one was given up a minute ago, the other two hours ago.
    const rows = await owner(t).selectFrom('event_deliveries').select('id').where('endpoint_id', '=', ep.id).orderBy('id').execute();
    const hoursAgo = new Date(Date.now() - 2 * 3600_000);
    await owner(t).updateTable('event_deliveries').set({ status: 'failed', created_at: hoursAgo, updated_at: hoursAgo }).where('endpoint_id', '=', ep.id).execute();
    await owner(t).updateTable('event_deliveries').set({ updated_at: new Date(Date.now() - 60_000) }).where('id', '=', rows[0]!.id).execute();
    const since = { since: new Date(Date.now() - 3600_000).toISOString() };
    assert.equal((await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/replay`, headers: bearer(b.key), payload: since })).statusCode, 404, 'not the other tenant\'s to replay');
    const r = await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.id}/replay`, headers: bearer(a.key), payload: since });
    assert.equal(r.statusCode, 202, r.body);
    assert.equal(r.json().queued, 1);
  });

  it('PATCH: description cleared with null; disabling a disabled endpoint keeps its reason; a new URL restarts the failure clock', async () => {
    const ep = await endpoint(a, rxA.url);
    const patch = (payload: object, key = a.key) => t.app.inject({ method: 'PATCH', url: `/v1/webhook-endpoints/${ep.id}`, headers: bearer(key), payload });
    assert.equal((await patch({ description: 'orders' })).json().description, 'orders');
    assert.equal((await patch({ description: null }, b.key)).statusCode, 404, 'not the other tenant\'s to change');
    const cleared = await patch({ description: null });
    assert.equal(cleared.statusCode, 200, cleared.body);
    assert.equal(cleared.json().description, null);
    await owner(t).updateTable('webhook_endpoints').set({ status: 'disabled', disabled_reason: 'gone' }).where('id', '=', ep.id).execute();
    assert.equal((await patch({ status: 'disabled' })).json().disabled_reason, 'gone');
    assert.equal((await patch({ status: 'enabled' })).json().disabled_reason, null);
    await owner(t).updateTable('webhook_endpoints').set({ failing_since: new Date(Date.now() - 4 * 24 * 3600_000) }).where('id', '=', ep.id).execute();
    assert.equal((await patch({ url: `${rxA.url}/other` })).statusCode, 200);
    const row = await owner(t).selectFrom('webhook_endpoints').select('failing_since').where('id', '=', ep.id).executeTakeFirstOrThrow();
    assert.equal(row.failing_since, null);
  });

  it("a hanging endpoint of one tenant does not delay another tenant's deliveries", async () => {
    await endpoint(a, rxA.url);
    await endpoint(b, rxB.url);
    rxA.respond = () => ({ status: 200, delayMs: 3000 });
    await inbound('888000888', 6);
    await inbound('999000999', 1);
    const start = Date.now();
    while ((await deliverDue(t.ctx)) > 0) { /* claim */ }
    while (rxB.hits.length === 0 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(rxB.hits.length, 1);
    assert.ok(rxB.hits[0]!.at - start < 1500, `tenant B waited ${rxB.hits[0]!.at - start} ms`);
    await deliveriesIdle(t.ctx);
  });

  it('rejects endpoint URLs outside http(s) and validates event types', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: bearer(a.key), payload: { url: 'ftp://example.com/x', event_types: ['message.received'] } });
    assert.equal(bad.statusCode, 400);
    const badType = await t.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: bearer(a.key), payload: { url: rxA.url, event_types: ['nope'] } });
    assert.equal(badType.statusCode, 400);
  });
});

describe('egress policy for endpoint URLs', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ EGRESS_ALLOW_PRIVATE: 'false' });
  });
  after(() => t.close());
  it('refuses loopback, link-local and private ranges when the operator has not allowed them', async () => {
    const ten = await t.tenant();
    for (const url of [
      'http://127.0.0.1:9/x', 'http://169.254.169.254/latest', 'http://10.0.0.5/x', 'http://[::1]/x', 'http://192.168.1.1/x',
      // IPv4 inside IPv6: mapped (the URL parser rewrites it to [::ffff:7f00:1]), compatible, NAT64, 6to4.
      'http://[::ffff:127.0.0.1]:9/x', 'http://[::ffff:169.254.169.254]/latest', 'http://[::127.0.0.1]/x', 'http://[64:ff9b::a9fe:a9fe]/x', 'http://[2002:7f00:1::]/x',
      'http://[fec0::1]/x', 'http://[ff02::1]/x', 'http://[::]/x', 'http://0.0.0.0/x', 'http://100.64.0.1/x',
    ]) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: bearer(ten.key), payload: { url, event_types: ['*'] } });
      assert.equal(res.statusCode, 422, `${url}: ${res.body}`);
      assert.equal(res.json().code, 'egress_denied');
    }
  });
});
