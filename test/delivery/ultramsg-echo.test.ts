/**
 * UltraMsg over real HTTP (Switchboard listening, the UltraMsg simulator posting its webhooks to it,
 * the delivery scheduler sending through it, real PostgreSQL): the phone's echo of our own send
 * (`message_create`, fromMe) arrives before the send is answered, and acks name the message by our
 * `referenceId`. Decision 045.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { startScheduler, type Scheduler } from '../../src/delivery/scheduler.js';
import { createUltramsgSimulator, type UltramsgSimulator } from '../../src/providers/ultramsg/index.js';
import { closeApp, drainAll, owner } from '../inbound/support.js';
import { until } from './helpers.js';

const LEASE_MS = 2000;

interface Line {
  id: string;
  instance: string;
  webhook: string;
}

async function addLine(t: TestApp, key: string, sim: UltramsgSimulator, instance: string, token: string, opts: { echo: boolean }): Promise<Line> {
  const r = await t.app.inject({
    method: 'POST', url: '/v1/channels', headers: bearer(key),
    payload: { name: instance, provider: 'ultramsg', credentials: { instanceId: instance, token, baseUrl: sim.url }, rate_per_second: 50, burst: 50 },
  });
  assert.equal(r.statusCode, 201, r.body);
  const { id, webhook_url } = r.json() as { id: string; webhook_url: string };
  const port = (t.app.server.address() as { port: number }).port;
  const webhook = `http://127.0.0.1:${port}/webhooks/ultramsg/${webhook_url.split('/').pop()}`;
  const flags = { webhook_message_received: 'true', webhook_message_create: opts.echo ? 'true' : 'false', webhook_message_ack: 'true' };
  const s = await fetch(`${sim.url}/${instance}/instance/settings`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, webhook_url: webhook, ...flags }).toString() });
  assert.equal(s.status, 200);
  return { id, instance, webhook };
}

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function accept(t: TestApp, key: string, messages: { channel_id: string; to: string; text: string }[]): Promise<string[]> {
  const r = await t.app.inject({
    method: 'POST', url: '/v1/messages/batch', headers: bearer(key),
    payload: { messages: messages.map((m) => ({ channel_id: m.channel_id, to: m.to, content: { type: 'text', text: m.text } })) },
  });
  assert.equal(r.statusCode, 202, r.body);
  return (r.json() as { data: { id: string }[] }).data.map((d) => d.id);
}

describe('UltraMsg: echo of our own send before its answer, acks by referenceId (real HTTP)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => closeApp(t));

  it('echo before the send result: one outbound message each, no send twice, the whole flush saved', { timeout: 60_000 }, async () => {
    // Acks far in the future: this test is about the echo and the send result only.
    const sim = createUltramsgSimulator({
      instances: [{ instanceId: 'instance2001', token: 'tok-a', phone: '15550002001' }, { instanceId: 'instance2002', token: 'tok-b', phone: '15550002002' }],
      ackDelaysMs: { server: 600_000, device: 600_001, read: 600_002 },
    });
    await sim.listen();
    let sched: Scheduler | undefined;
    try {
      const tenant = await t.tenant();
      const a = await addLine(t, tenant.key, sim, 'instance2001', 'tok-a', { echo: true });
      const b = await addLine(t, tenant.key, sim, 'instance2002', 'tok-b', { echo: false });
      const ids = await accept(t, tenant.key, [
        { channel_id: a.id, to: '+14155550101', text: 'a1' },
        { channel_id: a.id, to: '+14155550102', text: 'a2' },
        { channel_id: a.id, to: '+14155550103', text: 'a3' },
        { channel_id: b.id, to: '+14155550201', text: 'b1' },
        { channel_id: b.id, to: '+14155550202', text: 'b2' },
      ]);
      const release = sim.holdSends();
      sched = startScheduler(t.ctx, { leaseMs: LEASE_MS, idleMs: 20 });
      const sends = () => sim.server.requests(/\/messages\/chat$/);
      await until(() => sends().length === 5, 15_000, 'all five sends reached UltraMsg');
      const creates = () => sim.webhooks.filter((w) => JSON.parse(w.body).event_type === 'message_create');
      await until(() => creates().length === 3 && creates().every((w) => w.status === 200), 5_000, 'the three echoes were acknowledged');

      // An echo that does not name our message (no referenceId: a row an earlier version stored,
      // or a provider that drops it) and an ack for it by queue id: stored as an outbound message
      // of its own, which the send result of a1 must take over, not collide with.
      const echoA1 = JSON.parse(creates().find((w) => JSON.parse(w.body).data.body === 'a1')!.body) as Record<string, unknown> & { id: string; data: Record<string, unknown> };
      const queueA1 = echoA1.id;
      assert.equal((await post(a.webhook, { ...echoA1, referenceId: '', hash: 'x' })).status, 200);
      assert.equal((await post(a.webhook, { ...echoA1, event_type: 'message_ack', referenceId: '', data: { ...echoA1.data, ack: 'device' } })).status, 200);
      await drainAll(t);

      // All five answers into one result flush: hold the flush's job locks while they come back.
      const locker = new pg.Client({ connectionString: t.testDb.ownerUrl });
      await locker.connect();
      try {
        await locker.query('begin');
        await locker.query('select 1 from delivery_jobs where tenant_id = $1 for update', [tenant.id]);
        release();
        await new Promise((r) => setTimeout(r, 400));
        await locker.query('commit');
      } finally {
        await locker.end();
      }

      const rows = async () => owner(t).selectFrom('messages').select(['id', 'direction', 'status', 'provider_message_id', 'channel_id'])
        .where('tenant_id', '=', tenant.id).execute();
      await until(async () => (await owner(t).selectFrom('delivery_jobs').select('message_id').where('tenant_id', '=', tenant.id).execute()).length === 0, 10_000, 'every job finished');
      // Past a lease: a result that was not saved would now be claimed and sent again.
      await new Promise((r) => setTimeout(r, LEASE_MS * 2));

      assert.equal(sends().length, 5, 'no message was sent twice');
      const all = await rows();
      assert.equal(all.length, 5, `exactly one message per send: ${JSON.stringify(all)}`);
      const answered = new Map(sends().map((s, i) => [s.form!.referenceId!, String(44897 + i)]));
      for (const id of ids) {
        const m = all.find((r) => r.id === id)!;
        assert.equal(m.direction, 'out');
        assert.ok(['sent', 'delivered'].includes(m.status), `${id}: ${m.status}`);
        assert.equal(m.provider_message_id, answered.get(id), `${id} carries the queue id its send returned`);
      }
      const a1 = all.find((r) => r.provider_message_id === queueA1)!;
      assert.equal(a1.status, 'delivered', 'the ack the echo row got moved over to our message');
      const log = await owner(t).selectFrom('message_status_log').select(['message_id', 'status']).where('tenant_id', '=', tenant.id).where('message_id', 'in', ids).orderBy('id').execute();
      for (const id of ids) assert.equal(log.filter((l) => l.message_id === id && l.status === 'sent').length, 1, `${id}: sent logged once`);
      assert.deepEqual(log.filter((l) => l.message_id === a1.id).map((l) => l.status), ['sent', 'delivered']);
    } finally {
      await sched?.stop(1000);
      await sim.close();
    }
  });

  it('acks that name our message by referenceId reach it: delivered, read, and never back', { timeout: 30_000 }, async () => {
    const sim = createUltramsgSimulator({ instances: [{ instanceId: 'instance2003', token: 'tok-c', phone: '15550002003' }], ackDelaysMs: { server: 50, device: 150, read: 250 } });
    await sim.listen();
    let sched: Scheduler | undefined;
    try {
      const tenant = await t.tenant();
      const c = await addLine(t, tenant.key, sim, 'instance2003', 'tok-c', { echo: true });
      const [id] = await accept(t, tenant.key, [{ channel_id: c.id, to: '+14155550301', text: 'c1' }]);
      sched = startScheduler(t.ctx, { leaseMs: LEASE_MS, idleMs: 20 });
      const get = async () => (await t.app.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: bearer(tenant.key) })).json() as { status: string; delivered_at: string | null; read_at: string | null; provider_message_id: string | null };
      await until(async () => (await get()).status === 'read', 15_000, 'the read ack applied');
      await sim.idle();
      const acks = sim.webhooks.map((w) => JSON.parse(w.body)).filter((b) => b.event_type === 'message_ack');
      assert.equal(acks.length, 3);
      assert.ok(acks.every((b) => b.id === '' && b.referenceId === id), 'the acks name the message by referenceId only');
      // Lower acks after read change nothing: a redelivered "device", and a "server" and "device"
      // that get past dedupe (another WhatsApp id, same referenceId).
      const late = [
        { ...acks[1], hash: 'again' },
        { ...acks[0], hash: 'late-1', data: { ...acks[0].data, id: `${acks[0].data.id}X` } },
        { ...acks[1], hash: 'late-2', data: { ...acks[1].data, id: `${acks[1].data.id}X` } },
      ];
      for (const body of late) assert.equal((await post(c.webhook, body)).status, 200);
      await drainAll(t);
      const m = await get();
      assert.equal(m.status, 'read');
      assert.ok(m.delivered_at && m.read_at);
      assert.equal(m.provider_message_id, '44897', 'the queue id the send returned');
      const log = await owner(t).selectFrom('message_status_log').select('status').where('message_id', '=', id!).orderBy('id').execute();
      assert.deepEqual(log.map((l) => l.status), ['sent', 'delivered', 'read']);
      const out = await owner(t).selectFrom('messages').select('id').where('channel_id', '=', c.id).execute();
      assert.equal(out.length, 1, 'the echo is not a second message');
      const parked = await owner(t).selectFrom('early_statuses').select('provider_message_id').where('tenant_id', '=', tenant.id).execute();
      assert.deepEqual(parked, [], 'nothing left waiting for a match');
    } finally {
      await sched?.stop(1000);
      await sim.close();
    }
  });

  it('a provider id held by a message that is not an echo: saved without it, the flush never fails', { timeout: 30_000 }, async () => {
    const sim = createUltramsgSimulator({ instances: [{ instanceId: 'instance2004', token: 'tok-d', phone: '15550002004' }], ackDelaysMs: { server: 600_000, device: 600_001, read: 600_002 } });
    await sim.listen();
    let sched: Scheduler | undefined;
    try {
      const tenant = await t.tenant();
      const d = await addLine(t, tenant.key, sim, 'instance2004', 'tok-d', { echo: false });
      // An incoming message whose id is the queue id the next send will get (44897): the provider
      // id of our send is taken by a row the merge must not touch.
      const inbound = { event_type: 'message_received', instanceId: '2004', id: '', referenceId: '', data: { id: '44897', from: '14155550401@c.us', to: '15550002004@c.us', author: '', pushname: 'X', ack: '', type: 'chat', body: 'hi', media: '', fromMe: false, time: Math.floor(Date.now() / 1000) } };
      assert.equal((await post(d.webhook, inbound)).status, 200);
      await drainAll(t);
      const ids = await accept(t, tenant.key, [{ channel_id: d.id, to: '+14155550401', text: 'd1' }, { channel_id: d.id, to: '+14155550402', text: 'd2' }]);
      sched = startScheduler(t.ctx, { leaseMs: LEASE_MS, idleMs: 20 });
      await until(async () => (await owner(t).selectFrom('delivery_jobs').select('message_id').where('tenant_id', '=', tenant.id).execute()).length === 0, 10_000, 'every job finished');
      await new Promise((r) => setTimeout(r, LEASE_MS * 2));
      assert.equal(sim.server.requests(/\/messages\/chat$/).length, 2, 'no message was sent twice');
      const rows = await owner(t).selectFrom('messages').select(['id', 'direction', 'status', 'provider_message_id']).where('tenant_id', '=', tenant.id).orderBy('id').execute();
      const mine = rows.filter((r) => ids.includes(r.id));
      assert.deepEqual(mine.map((m) => m.status), ['sent', 'sent']);
      assert.deepEqual(mine.map((m) => m.provider_message_id).sort(), [null, '44898'].sort(), 'the taken id is left out, the other saved');
      assert.ok(rows.some((r) => r.direction === 'in' && r.provider_message_id === '44897'), 'the other holder is untouched');
    } finally {
      await sched?.stop(1000);
      await sim.close();
    }
  });
});
