import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { InboundEvent } from '../../core/canonical.js';
import { SimServer } from '../simulator-kit.js';
import { createUltramsgAdapter } from './adapter.js';
import { createUltramsgSimulator, type UltramsgSimulator } from './simulator.js';
import { INSTANCE, TOKEN, channel, deps } from './test-support.js';
import { ultramsgWebhook } from './webhook.js';

/** Switchboard's side, played by a plain HTTP server: receives what the simulator posts. */
let receiver: SimServer;
let sim: UltramsgSimulator;
const creds = { instanceId: INSTANCE, token: TOKEN };

function parsedEvents(): InboundEvent[] {
  return receiver.received.flatMap((r) => {
    const rawHook = { headers: r.headers, body: r.body, query: r.query };
    assert.equal(ultramsgWebhook.verify(rawHook, creds), true);
    const p = ultramsgWebhook.parse(rawHook);
    assert.ok(p.ok, JSON.stringify(p));
    return p.events;
  });
}

before(async () => {
  receiver = new SimServer([{ method: 'POST', path: '/webhooks/ultramsg/:token', handler: () => ({ status: 200, json: { ok: true } }) }]);
  await receiver.listen();
  sim = createUltramsgSimulator({ instances: [{ instanceId: INSTANCE, token: TOKEN, phone: '14155550100' }], ackDelaysMs: { server: 10, device: 25, read: 40 } });
  await sim.listen();
});
after(async () => {
  await sim.close();
  await receiver.close();
});

test('a send: the echo is answered before the send, then acks server → device → read, all naming our message', async () => {
  receiver.received.length = 0;
  const adapter = createUltramsgAdapter(deps());
  await adapter.session!.create(channel(sim.url), { webhookUrl: `${receiver.url}/webhooks/ultramsg/chtok`, start: false });
  const { providerMessageId } = await adapter.send(channel(sim.url), { to: '+14155552671', content: { type: 'text', text: 'order shipped' }, clientRef: 'msg_01FLOW' });
  assert.match(providerMessageId, /^\d+$/, 'the send answers the queue id');
  const first = receiver.received[0];
  assert.equal(first && (JSON.parse(first.body.toString('utf8')) as { event_type: string }).event_type, 'message_create', 'the echo was posted and answered before the send was');
  await sim.idle();
  const events = parsedEvents();
  assert.deepEqual(
    events.map((e) => (e.kind === 'message.status' ? e.status : e.kind)),
    ['sent', 'sent', 'delivered', 'read'],
  );
  for (const e of events) {
    assert.equal(e.externalId, INSTANCE);
    assert.ok(e.kind === 'message.status' && e.providerMessageId === 'msg_01FLOW' && e.recipient === '+14155552671', 'every event names our message');
  }
  assert.match(events[0]!.dedupeKey, /^echo:true_/, 'the echo is a status of our message, not a second message');
  const bodies = sim.webhooks.map((w) => JSON.parse(w.body) as { event_type: string; id: string; referenceId: string });
  assert.deepEqual(bodies.map((b) => [b.event_type, b.id, b.referenceId]), [
    ['message_create', providerMessageId, 'msg_01FLOW'],
    ['message_ack', '', 'msg_01FLOW'],
    ['message_ack', '', 'msg_01FLOW'],
    ['message_ack', '', 'msg_01FLOW'],
  ]);
  assert.equal(new Set(events.map((e) => e.dedupeKey)).size, 4);
});

test("ackIds: 'queue' also fills the queue id, 'none' leaves both empty like the derived fixture", async () => {
  for (const [mode, want] of [['queue', (q: string) => [q, 'msg_01MODE']], ['none', () => ['', '']]] as const) {
    const r = new SimServer([{ method: 'POST', path: '/hook', handler: () => ({ status: 200, json: { ok: true } }) }]);
    await r.listen();
    const s = createUltramsgSimulator({ instances: [{ instanceId: INSTANCE, token: TOKEN }], webhookUrl: `${r.url}/hook`, ackIds: mode, ackDelaysMs: { server: 5, device: 10, read: 15 } });
    await s.listen();
    try {
      const { providerMessageId } = await createUltramsgAdapter(deps()).send(channel(s.url), { to: '+14155552671', content: { type: 'text', text: 'x' }, clientRef: 'msg_01MODE' });
      await s.idle();
      const acks = s.webhooks.map((w) => JSON.parse(w.body) as { event_type: string; id: string; referenceId: string }).filter((b) => b.event_type === 'message_ack');
      assert.equal(acks.length, 3, mode);
      for (const b of acks) assert.deepEqual([b.id, b.referenceId], want(providerMessageId), mode);
    } finally {
      await s.close();
      await r.close();
    }
  }
});

test('holdSends: the echo goes out, the answer waits for release', async () => {
  receiver.received.length = 0;
  const release = sim.holdSends();
  let answered = false;
  const p = createUltramsgAdapter(deps()).send(channel(sim.url), { to: '+14155552671', content: { type: 'text', text: 'held' }, clientRef: 'msg_01HOLD' }).then((r) => {
    answered = true;
    return r;
  });
  while (receiver.received.length === 0) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(answered, false);
  release();
  assert.match((await p).providerMessageId, /^\d+$/);
  await sim.idle();
});

test('sim.sendInbound posts message_received that parses as an incoming message, groups included', async () => {
  receiver.received.length = 0;
  await sim.sendInbound(INSTANCE, { from: '+4915112345678', body: 'hallo', pushname: 'Jonas' });
  await sim.sendInbound(INSTANCE, { from: '120363025246125486@g.us', author: '+4915112345678', type: 'image', body: 'pic', media: 'https://cdn.test/p.jpg' });
  const [dm, group] = parsedEvents();
  assert.ok(dm?.kind === 'message.received' && group?.kind === 'message.received');
  assert.equal(dm.chat, '+4915112345678');
  assert.equal(dm.profileName, 'Jonas');
  assert.equal(dm.fromMe, false);
  assert.match(dm.providerMessageId, /^false_4915112345678@c\.us_[0-9A-F]+$/);
  assert.equal(group.chat, '120363025246125486@g.us');
  assert.equal(group.from, '+4915112345678');
  assert.deepEqual(group.content, { type: 'image', media: { url: 'https://cdn.test/p.jpg' }, caption: 'pic' });
});
