import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearer } from '../support/app.js';
import { addChannel, send, setup, text, type Setup } from './helpers.js';

describe('POST /v1/messages: accept path', () => {
  let s: Setup;
  before(async () => {
    s = await setup({ channels: 2 });
  });
  after(() => s.close());

  it('answers 202 queued only with the message and its job committed', async () => {
    const r = await send(s.t, s.tenant.key, text(s.channels[0]!, '+1 (650) 555-1234'));
    assert.equal(r.statusCode, 202, r.body);
    const body = r.json();
    assert.match(body.id, /^msg_/);
    assert.equal(body.status, 'queued');
    assert.equal(body.to, '+16505551234');
    const owner = s.t.testDb.ownerUrl;
    assert.ok(owner);
    const job = await s.t.ctx.db.transaction().execute(async (tx) => {
      await import('kysely').then(({ sql }) => sql`select set_config('app.tenant_id', ${s.tenant.id}, true)`.execute(tx));
      return tx.selectFrom('delivery_jobs').selectAll().where('message_id', '=', body.id).executeTakeFirst();
    });
    assert.ok(job, 'the delivery job exists');
    const g = await s.t.app.inject({ method: 'GET', url: `/v1/messages/${body.id}`, headers: bearer(s.tenant.key) });
    assert.equal(g.statusCode, 200);
    assert.equal(g.json().status, 'queued');
    assert.equal(g.json().peer, '+16505551234');
    assert.equal(g.json().direction, 'out');
  });

  it('accepts WhatsApp ids and rejects bad recipients and over-long content with a problem', async () => {
    assert.equal((await send(s.t, s.tenant.key, text(s.channels[0]!, '16505551234@c.us'))).json().to, '+16505551234');
    assert.equal((await send(s.t, s.tenant.key, text(s.channels[0]!, '120363025246125486@g.us'))).statusCode, 202);
    const bad = await send(s.t, s.tenant.key, text(s.channels[0]!, '12'));
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'validation_failed');
    assert.equal(bad.headers['content-type'], 'application/problem+json; charset=utf-8');
    const long = await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505551234', 'x'.repeat(4097)));
    assert.equal(long.statusCode, 400);
    assert.match(long.body, /longer than 4096/);
    const buttons = await send(s.t, s.tenant.key, { channel_id: s.channels[0], to: '+16505551234', content: { type: 'interactive', interactive: { kind: 'buttons', body: 'b', buttons: [1, 2, 3, 4].map((i) => ({ id: `b${i}`, title: `B${i}` })) } } });
    assert.equal(buttons.statusCode, 400);
  });

  it('refuses unknown, other-tenant and disabled channels', async () => {
    const other = await s.t.tenant();
    const otherCh = await addChannel(s.t, other.key, s.sim, 2);
    const unknown = await send(s.t, s.tenant.key, text('chn_01JD2Y8Q0K6VJ4Q3M8W9Z7X5B1', '+16505551234'));
    assert.equal(unknown.statusCode, 404);
    assert.equal((await send(s.t, s.tenant.key, text(otherCh, '+16505551234'))).statusCode, 404);
    const ch = s.channels[1]!;
    await s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${ch}`, headers: bearer(s.tenant.key), payload: { status: 'disabled' } });
    const disabled = await send(s.t, s.tenant.key, text(ch, '+16505551234'));
    assert.equal(disabled.statusCode, 422);
    assert.equal(disabled.json().code, 'channel_disabled');
    await s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${ch}`, headers: bearer(s.tenant.key), payload: { status: 'active' } });
  });

  it('Idempotency-Key: same body replays, different body is 409, concurrent duplicates make one message', async () => {
    const k = { 'idempotency-key': 'order-42' };
    const a = await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505551234', 'once'), k);
    const b = await send(s.t, s.tenant.key, { content: { text: 'once', type: 'text' }, to: '+16505551234', channel_id: s.channels[0] }, k);
    assert.equal(a.statusCode, 202);
    assert.equal(b.statusCode, 202);
    assert.equal(b.json().id, a.json().id);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    const c = await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505551234', 'twice'), k);
    assert.equal(c.statusCode, 409);
    assert.equal(c.json().code, 'idempotency_key_reused');
    const k2 = { 'idempotency-key': 'race-1' };
    const rs = await Promise.all(Array.from({ length: 8 }, () => send(s.t, s.tenant.key, text(s.channels[0]!, '+16505550000', 'race'), k2)));
    assert.deepEqual(new Set(rs.map((r) => r.statusCode)), new Set([202]));
    assert.equal(new Set(rs.map((r) => r.json().id)).size, 1);
    // The same key from another tenant is another key.
    const other = await s.t.tenant();
    const ch = await addChannel(s.t, other.key, s.sim, 3);
    assert.notEqual((await send(s.t, other.key, text(ch, '+16505551234', 'once'), k)).json().id, a.json().id);
  });

  it('batch: up to 1,000 in one transaction; one bad message rejects all with its path', async () => {
    const ok = await s.t.app.inject({ method: 'POST', url: '/v1/messages/batch', headers: bearer(s.tenant.key), payload: { messages: Array.from({ length: 1000 }, (_, i) => text(s.channels[0]!, `+1650555${String(i).padStart(4, '0')}`)) } });
    assert.equal(ok.statusCode, 202, ok.body.slice(0, 300));
    assert.equal(ok.json().data.length, 1000);
    const tooMany = await s.t.app.inject({ method: 'POST', url: '/v1/messages/batch', headers: bearer(s.tenant.key), payload: { messages: Array.from({ length: 1001 }, () => text(s.channels[0]!, '+16505551234')) } });
    assert.equal(tooMany.statusCode, 400);
    const before = (await s.t.app.inject({ method: 'GET', url: '/v1/messages?limit=200', headers: bearer(s.tenant.key) })).json().data.length;
    const mixed = await s.t.app.inject({ method: 'POST', url: '/v1/messages/batch', headers: bearer(s.tenant.key), payload: { messages: [text(s.channels[0]!, '+16505551234'), text(s.channels[0]!, 'nope')] } });
    assert.equal(mixed.statusCode, 400);
    assert.equal(mixed.json().errors[0].path, '/messages/1/to');
    assert.equal((await s.t.app.inject({ method: 'GET', url: '/v1/messages?limit=200', headers: bearer(s.tenant.key) })).json().data.length, before);
  });

  it('lists with filters and cursor pagination; other tenants see 404 / nothing', async () => {
    const conv = (await send(s.t, s.tenant.key, text(s.channels[1]!, '+447700900123'))).json().conversation_id;
    await send(s.t, s.tenant.key, text(s.channels[1]!, '+447700900123', 'second'));
    const byConv = await s.t.app.inject({ method: 'GET', url: `/v1/messages?conversation_id=${conv}&limit=1`, headers: bearer(s.tenant.key) });
    assert.equal(byConv.statusCode, 200);
    assert.equal(byConv.json().data.length, 1);
    assert.equal(byConv.json().data[0].content.text, 'second');
    const next = await s.t.app.inject({ method: 'GET', url: `/v1/messages?conversation_id=${conv}&limit=1&cursor=${byConv.json().next_cursor}`, headers: bearer(s.tenant.key) });
    assert.equal(next.json().data[0].content.text, 'hello');
    assert.equal(next.json().next_cursor, null);
    const queued = await s.t.app.inject({ method: 'GET', url: `/v1/messages?status=queued&direction=out&channel_id=${s.channels[1]}&since=2020-01-01T00:00:00Z`, headers: bearer(s.tenant.key) });
    assert.equal(queued.json().data.length, 2);
    const other = await s.t.tenant();
    const id = byConv.json().data[0].id;
    assert.equal((await s.t.app.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: bearer(other.key) })).statusCode, 404);
    assert.equal((await s.t.app.inject({ method: 'POST', url: `/v1/messages/${id}/cancel`, headers: bearer(other.key) })).statusCode, 404);
    assert.equal((await s.t.app.inject({ method: 'GET', url: `/v1/messages?conversation_id=${conv}`, headers: bearer(other.key) })).json().data.length, 0);
  });

  it('cancels a queued message once; a cancelled message cannot be cancelled again', async () => {
    const id = (await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505559999'))).json().id;
    const c = await s.t.app.inject({ method: 'POST', url: `/v1/messages/${id}/cancel`, headers: bearer(s.tenant.key) });
    assert.equal(c.statusCode, 200, c.body);
    assert.equal(c.json().status, 'cancelled');
    const again = await s.t.app.inject({ method: 'POST', url: `/v1/messages/${id}/cancel`, headers: bearer(s.tenant.key) });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'message_not_cancellable');
    // Subscribers hear of it like of every other status change (review of 2026-12-01: they did not).
    const events = (await s.t.app.inject({ url: '/v1/events?type=message.status', headers: bearer(s.tenant.key) })).json().data as { data: { message_id: string; status: string } }[];
    assert.deepEqual(events.filter((e) => e.data.message_id === id).map((e) => e.data.status), ['cancelled']);
  });
});
