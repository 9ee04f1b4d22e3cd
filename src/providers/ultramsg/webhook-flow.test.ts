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

test('a send produces message_create then acks server → device → read, all matched to the send result', async () => {
  const adapter = createUltramsgAdapter(deps());
  await adapter.session!.create(channel(sim.url), { webhookUrl: `${receiver.url}/webhooks/ultramsg/chtok`, start: false });
  const { providerMessageId } = await adapter.send(channel(sim.url), { to: '+14155552671', content: { type: 'text', text: 'order shipped' }, clientRef: 'msg_01FLOW' });
  await sim.idle();
  const events = parsedEvents();
  assert.deepEqual(
    events.map((e) => (e.kind === 'message.status' ? e.status : e.kind)),
    ['message.received', 'sent', 'delivered', 'read'],
  );
  for (const e of events) {
    assert.equal(e.externalId, INSTANCE);
    assert.ok('providerMessageId' in e && e.providerMessageId === providerMessageId, 'every event names the queue id the send returned');
  }
  const echo = events[0]!;
  assert.ok(echo.kind === 'message.received' && echo.fromMe && echo.chat === '+14155552671' && echo.from === '+14155550100');
  assert.deepEqual(echo.content, { type: 'text', text: 'order shipped' });
  const bodies = sim.webhooks.map((w) => JSON.parse(w.body) as { referenceId: string });
  assert.ok(bodies.every((b) => b.referenceId === 'msg_01FLOW'), 'referenceId is echoed for ingress matching');
  assert.equal(new Set(events.map((e) => e.dedupeKey)).size, 4);
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
