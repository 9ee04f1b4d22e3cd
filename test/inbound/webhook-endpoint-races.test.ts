/**
 * Webhook-endpoint calls made at the same moment (review of 2026-12-01): each decided from a read
 * it did not hold. Four "replay all failed" calls at once queued every failed event four times
 * (the docs promise a repeated call sends nothing twice); two secret rotations at once both answered
 * 200 and one of the returned secrets never signed anything; concurrent creates passed the limit
 * of 20 endpoints.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { deliverDue, deliveriesIdle } from '../../src/events/deliver.js';
import { emitEvent } from '../../src/events/emit.js';
import { asTenantId, withTenant } from '../../src/db/db.js';
import { closeApp, owner } from './support.js';

/** Standard Webhooks: does any `v1,` signature of the delivery verify with this `whsec_` secret? */
const signs = (secret: string, h: http.IncomingHttpHeaders, body: string) => {
  const expected = createHmac('sha256', Buffer.from(secret.split('_')[1]!, 'base64')).update(`${String(h['webhook-id'])}.${String(h['webhook-timestamp'])}.${body}`).digest('base64');
  return String(h['webhook-signature']).split(' ').includes(`v1,${expected}`);
};

describe('webhook-endpoint calls at the same moment', () => {
  let t: TestApp;
  let a: { id: string; key: string };
  const hits: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push({ headers: req.headers, body });
      res.writeHead(200).end();
    });
  });
  let url = '';
  before(async () => {
    t = await startTestApp();
    a = await t.tenant();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  after(async () => {
    await deliveriesIdle(t.ctx);
    server.closeAllConnections();
    server.close();
    await closeApp(t);
  });
  beforeEach(async () => {
    hits.length = 0;
    await owner(t).deleteFrom('webhook_endpoints').where('tenant_id', '=', a.id).execute();
  });
  const post = (path: string, payload: object) => t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints${path}`, headers: bearer(a.key), payload });
  const create = async () => {
    const r = await post('', { url, event_types: ['*'] });
    assert.equal(r.statusCode, 201, r.body);
    return r.json() as { id: string; secret: string };
  };

  it('four "replay all failed" calls at once queue each failed event once', async () => {
    const ep = await create();
    const db = owner(t);
    await sql`insert into events (tenant_id, id, type, data) select ${a.id}, sb_new_id('evt'), 'conversation.updated', '{}' from generate_series(1, 2000)`.execute(db);
    await sql`insert into event_deliveries (tenant_id, id, endpoint_id, event_id, status) select tenant_id, sb_new_id('dlv'), ${ep.id}, id, 'failed' from events where tenant_id = ${a.id}`.execute(db);
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const rs = await Promise.all(Array.from({ length: 4 }, () => post(`/${ep.id}/replay`, { since })));
    assert.deepEqual(rs.map((r) => r.statusCode), [202, 202, 202, 202]);
    assert.equal(rs.reduce((n, r) => n + (r.json() as { queued: number }).queued, 0), 2000);
    const { rows } = await sql<{ n: number; d: number }>`select count(*)::int as n, count(distinct event_id)::int as d from event_deliveries where endpoint_id = ${ep.id} and status = 'pending'`.execute(db);
    assert.deepEqual(rows[0], { n: 2000, d: 2000 });
    await db.deleteFrom('event_deliveries').where('endpoint_id', '=', ep.id).execute();
  });

  it('two rotations at once: one new secret (the other call is refused with 409), and it signs', async () => {
    const ep = await create();
    const rs = await Promise.all([post(`/${ep.id}/rotate-secret`, {}), post(`/${ep.id}/rotate-secret`, {})]);
    assert.deepEqual(rs.map((r) => r.statusCode).sort(), [200, 409]);
    await withTenant(t.ctx.db, asTenantId(a.id), (tx) => emitEvent(tx, { tenantId: a.id, type: 'conversation.updated', data: {} }));
    for (let i = 0; i < 20 && hits.length === 0; i++) {
      while ((await deliverDue(t.ctx)) > 0);
      await deliveriesIdle(t.ctx);
    }
    const h = hits[0]!;
    const rotated = rs.find((r) => r.statusCode === 200)!.json() as { secret: string };
    assert.ok(signs(rotated.secret, h.headers, h.body), 'the secret a 200 returned signs');
    assert.ok(signs(ep.secret, h.headers, h.body), 'the old one still signs during the overlap');
  });

  it("a rotation or a replay in progress does not hold up the tenant's events (their deliveries reference the endpoint)", async () => {
    await create();
    const ep = await create();
    const emitted = () => withTenant(t.ctx.db, asTenantId(a.id), (tx) => emitEvent(tx, { tenantId: a.id, type: 'conversation.updated', data: {} })).then(() => 'emitted');
    const within = (p: Promise<string>, ms: number) => Promise.race([p, new Promise<string>((r) => setTimeout(() => r('still waiting'), ms))]);
    // Each call waits at its audit entry, uncommitted, having read and written the endpoint.
    await t.asOwner(async (o) => {
      await o.query('begin');
      await o.query('lock table audit_log in exclusive mode');
      const calls = [post(`/${ep.id}/rotate-secret`, {}), post(`/${ep.id}/replay`, { since: new Date(Date.now() - 60_000).toISOString() })];
      await new Promise((r) => setTimeout(r, 300));
      const e = emitted();
      const r = await within(e, 2_000);
      await o.query('commit');
      await Promise.all([e, ...calls]);
      assert.equal(r, 'emitted');
    });
  });

  it('concurrent creates stop at the limit of 20', async () => {
    for (let i = 0; i < 15; i++) await create();
    const rs = await Promise.all(Array.from({ length: 10 }, () => post('', { url, event_types: ['*'] })));
    assert.deepEqual(rs.map((r) => r.statusCode).sort(), [...Array(5).fill(201), ...Array(5).fill(422)]);
    const n = await owner(t).selectFrom('webhook_endpoints').select(sql<number>`count(*)::int`.as('n')).where('tenant_id', '=', a.id).executeTakeFirstOrThrow();
    assert.equal(n.n, 20);
  });
});
