import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import type { InboundEvent, OutboundContent } from '../../core/canonical.js';
import { ProviderError } from '../../core/errors.js';
import type { SimServer } from '../simulator-kit.js';
import { createSandboxAdapter } from './adapter.js';
import { TEST_NUMBERS } from './protocol.js';
import { createSandboxServer, linePhone, type SandboxServer } from './server.js';
import { channel, deps, rawOf, SECRET, startReceiver } from './test-support.js';
import { sandboxWebhook } from './webhook.js';

let receiver: SimServer;
let sandbox: SandboxServer;
const adapter = createSandboxAdapter(deps());
const SCHEDULE = { sentMs: 20, deliveredMs: 45, readMs: 70 };
const ch = () => channel(sandbox.url);

/** Every webhook the receiver got, verified with the line's secret and parsed. */
function received(lineSecret = SECRET, lineId = 'sandbox-test01'): InboundEvent[] {
  return receiver.received.flatMap((r) => {
    assert.equal(sandboxWebhook.verify(rawOf(r), { baseUrl: '', lineId, secret: lineSecret }), true, 'signature verifies');
    const p = sandboxWebhook.parse(rawOf(r));
    assert.ok(p.ok, JSON.stringify(p));
    return p.events;
  });
}
const statuses = (id: string) => received().flatMap((e) => (e.kind === 'message.status' && e.providerMessageId === id ? [e.status] : []));

async function rejects(p: Promise<unknown>, kind: string, retryable: boolean): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, String(err));
    assert.equal(err.kind, kind, err.message);
    assert.equal(err.retryable, retryable);
    return err;
  }
  assert.fail(`expected ${kind}`);
}

before(async () => {
  receiver = await startReceiver();
  sandbox = createSandboxServer({ webhookUrlFor: (lineId) => `${receiver.url}/webhooks/sandbox/tok-${lineId}`, schedule: SCHEDULE, jitter: 0, retryDelaysMs: [20, 20] });
  await sandbox.listen();
});
after(async () => {
  await sandbox.close();
  await receiver.close();
});
beforeEach(async () => {
  await sandbox.idle();
  receiver.received.length = 0;
  receiver.clearFaults();
  sandbox.server.clearFaults();
});

describe('sandbox adapter ↔ sandbox server over HTTP', () => {
  test('testConnection registers the line and reports its stable phone-like number', async () => {
    const r = await adapter.testConnection(ch());
    assert.deepEqual(r, { ok: true, detail: `sandbox line ${linePhone('sandbox-test01')}` });
    assert.match(linePhone('sandbox-test01'), /^\+1555[1-9]\d{6}$/);
  });

  test('a text goes sent → delivered → read on schedule, each a signed webhook naming the send result', async () => {
    const t0 = Date.now();
    const { providerMessageId } = await adapter.send(ch(), { to: '+14155552671', content: { type: 'text', text: 'hello' }, clientRef: 'msg_01A' });
    assert.match(providerMessageId, /^sbm_/);
    await sandbox.idle();
    assert.ok(Date.now() - t0 >= SCHEDULE.readMs, 'read does not come before its scheduled time');
    assert.deepEqual(statuses(providerMessageId), ['sent', 'delivered', 'read']);
    const ev = received()[0]!;
    assert.ok(ev.kind === 'message.status');
    assert.equal(ev.externalId, 'sandbox-test01');
    assert.equal(ev.recipient, '+14155552671');
    assert.equal(ev.dedupeKey, `status:${providerMessageId}:sent`);
    assert.equal(receiver.received[0]?.path, '/webhooks/sandbox/tok-sandbox-test01');
    assert.equal((JSON.parse(receiver.received[0]!.body.toString()) as { events: { status: { clientRef: string } }[] }).events[0]?.status.clientRef, 'msg_01A');
  });

  test('clientRef is an idempotency key: a retried send returns the first id and sends nothing new', async () => {
    const a = await adapter.send(ch(), { to: '+14155552671', content: { type: 'text', text: 'once' }, clientRef: 'msg_IDEM' });
    const b = await adapter.send(ch(), { to: '+14155552671', content: { type: 'text', text: 'once' }, clientRef: 'msg_IDEM' });
    assert.equal(a.providerMessageId, b.providerMessageId);
    await sandbox.idle();
    assert.deepEqual(statuses(a.providerMessageId), ['sent', 'delivered', 'read']);
  });

  test(`${TEST_NUMBERS.undeliverable} fails after sent; ${TEST_NUMBERS.rateLimited} is throttled with Retry-After`, async () => {
    const { providerMessageId } = await adapter.send(ch(), { to: TEST_NUMBERS.undeliverable, content: { type: 'text', text: 'x' }, clientRef: 'msg_F' });
    await sandbox.idle();
    assert.deepEqual(statuses(providerMessageId), ['sent', 'failed']);
    const failed = received().find((e) => e.kind === 'message.status' && e.status === 'failed');
    assert.ok(failed?.kind === 'message.status' && failed.error?.code === 'recipient_unavailable');
    const e = await rejects(adapter.send(ch(), { to: TEST_NUMBERS.rateLimited, content: { type: 'text', text: 'x' }, clientRef: 'msg_R' }), 'rate_limited', true);
    assert.equal(e.retryAfterMs, 1000);
  });

  test('the echo contact answers after reading, as a reply to our message', async () => {
    const { providerMessageId } = await adapter.send(ch(), { to: TEST_NUMBERS.echo, content: { type: 'text', text: 'ping' }, clientRef: 'msg_E' });
    await sandbox.idle();
    const msg = received().find((e) => e.kind === 'message.received');
    assert.ok(msg?.kind === 'message.received');
    assert.deepEqual(msg.content, { type: 'text', text: 'Echo: ping' });
    assert.equal(msg.from, TEST_NUMBERS.echo);
    assert.equal(msg.replyTo, providerMessageId);
  });

  test('a simulated contact reply arrives as a signed inbound message, which can then be marked read', async () => {
    const { messageId } = await adapter.contactReply(ch(), { phone: '+4915112345678', text: 'Hallo!', profileName: 'Jonas' });
    await sandbox.idle();
    const [ev] = received();
    assert.ok(ev?.kind === 'message.received');
    assert.equal(ev.providerMessageId, messageId);
    assert.equal(ev.chat, '+4915112345678');
    assert.equal(ev.from, '+4915112345678');
    assert.equal(ev.fromMe, false);
    assert.equal(ev.profileName, 'Jonas');
    assert.deepEqual(ev.content, { type: 'text', text: 'Hallo!' });
    await adapter.markRead!(ch(), { providerMessageId: messageId, chat: '+4915112345678' });
    await rejects(adapter.markRead!(ch(), { providerMessageId: 'sbm_nope', chat: '+4915112345678' }), 'not_found', false);
    await rejects(adapter.contactReply(ch(), { phone: 'not-a-phone', text: 'x' }), 'invalid_request', false);
    await rejects(adapter.contactReply(ch(), { phone: '+4915112345678', text: '' }), 'invalid_request', false);
  });

  test('every canonical content type is accepted', async () => {
    const all: OutboundContent[] = [
      { type: 'image', media: { url: 'https://x.test/a.jpg' }, caption: 'c' },
      { type: 'video', media: { url: 'https://x.test/a.mp4' } },
      { type: 'audio', media: { url: 'https://x.test/a.ogg' } },
      { type: 'document', media: { url: 'https://x.test/a.pdf' }, filename: 'a.pdf' },
      { type: 'sticker', media: { id: 'media-1' } },
      { type: 'location', latitude: 52.52, longitude: 13.4, name: 'Berlin' },
      { type: 'contacts', contacts: [{ name: { formatted: 'Ana' } }] },
      { type: 'reaction', messageId: 'sbm_x', emoji: '👍' },
      { type: 'template', name: 'order_update', language: 'en_US', components: [] },
      { type: 'interactive', interactive: { kind: 'buttons', body: 'Pick', buttons: [{ id: 'y', title: 'Yes' }, { id: 'n', title: 'No' }] } },
      { type: 'interactive', interactive: { kind: 'list', body: 'Menu', buttonText: 'Open', sections: [{ title: 'S', rows: [{ id: 'r1', title: 'One' }] }] } },
    ];
    for (const content of all) {
      const r = await adapter.send(ch(), { to: '120363025246125486@g.us', content, clientRef: `msg_${content.type}_${Math.random()}` });
      assert.match(r.providerMessageId, /^sbm_/, content.type);
    }
  });

  test('the server rejects what WhatsApp rejects, naming the field', async () => {
    const bad: [OutboundContent | Record<string, unknown>, string][] = [
      [{ type: 'text', text: '' }, 'content.text'],
      [{ type: 'text', text: 'x'.repeat(4097) }, 'content.text'],
      [{ type: 'image', media: { url: 'ftp://x' } }, 'content.media.url'],
      [{ type: 'image', media: { url: 'https://x/y' }, caption: 'c'.repeat(1025) }, 'content.caption'],
      [{ type: 'location', latitude: 91, longitude: 0 }, 'content.latitude'],
      [{ type: 'interactive', interactive: { kind: 'buttons', body: 'b', buttons: [] } }, 'content.interactive.buttons'],
      [{ type: 'interactive', interactive: { kind: 'buttons', body: 'b', buttons: [{ id: 'a', title: 'x'.repeat(21) }] } }, 'content.interactive.buttons[0].title'],
      [{ type: 'interactive', interactive: { kind: 'buttons', body: 'b', buttons: [{ id: 'a', title: 'A' }, { id: 'a', title: 'B' }] } }, 'content.interactive.buttons.id'],
      [{ type: 'template', name: 'Bad Name', language: 'en_US' }, 'content.name'],
      [{ type: 'poll' }, 'content.type'],
    ];
    for (const [content, field] of bad) {
      const e = await rejects(adapter.send(ch(), { to: '+14155552671', content: content as OutboundContent, clientRef: 'msg_bad' }), 'invalid_request', false);
      assert.match(e.message, new RegExp(field.replace(/[[\].]/g, '\\$&')), field);
    }
    await rejects(adapter.send(ch(), { to: 'nobody', content: { type: 'text', text: 'x' }, clientRef: 'msg_bad' }), 'invalid_request', false);
  });

  test('a wrong or missing secret is unauthorized; the first secret owns the line', async () => {
    await rejects(adapter.testConnection(channel(sandbox.url, 'sandbox-test01', 'another-secret-0123456')), 'unauthorized', false);
    await rejects(adapter.testConnection(channel(sandbox.url, 'sandbox-test01', 'short')), 'unauthorized', false);
    const res = await fetch(`${sandbox.url}/v1/lines/sandbox-test01`);
    assert.equal(res.status, 401);
    await adapter.testConnection(channel(sandbox.url, 'sandbox-other', 'another-secret-0123456'));
  });

  test('5xx and a hanging server become retryable errors', async () => {
    sandbox.server.injectFault({ path: '/messages', response: { status: 503, json: { error: { code: 'down', message: 'maintenance' } } } });
    const e = await rejects(adapter.send(ch(), { to: '+14155552671', content: { type: 'text', text: 'x' }, clientRef: 'msg_5' }), 'unavailable', true);
    assert.equal(e.providerCode, 'down');
    sandbox.server.injectFault({ path: '/messages', hang: true });
    await rejects(createSandboxAdapter(deps(150)).send(ch(), { to: '+14155552671', content: { type: 'text', text: 'x' }, clientRef: 'msg_6' }), 'timeout', true);
  });

  test('a webhook the ingress refuses is retried with the same bytes', async () => {
    receiver.injectFault({ path: '/webhooks/sandbox/', response: { status: 500, body: 'oops' }, times: 1 });
    const { messageId } = await adapter.contactReply(ch(), { phone: '+14155552671', text: 'retry me' });
    await sandbox.idle();
    assert.equal(receiver.received.length, 2);
    assert.ok(receiver.received[0]!.body.equals(receiver.received[1]!.body));
    const rec = sandbox.deliveries.find((d) => d.body.includes(messageId));
    assert.equal(rec?.attempts, 2);
    assert.equal(rec?.outcome, 200);
  });
});
