import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { RawWebhook } from '../types.js';
import { signSandboxBody } from './delivery.js';
import { sandboxWebhook as wh } from './webhook.js';
import { sample, TS } from './test-support.js';

const creds = { baseUrl: 'http://127.0.0.1:1', lineId: 'sandbox-abc123', secret: 'sandbox-secret-0123456789' };
function signed(body: string, secret = creds.secret): RawWebhook {
  return { headers: { 'x-sandbox-signature': signSandboxBody(secret, body) }, body: Buffer.from(body), query: {} };
}

describe('sandbox webhook verify', () => {
  const body = JSON.stringify(sample());
  test('the signature is HMAC-SHA256 hex over the raw body, sha256= prefixed', () => {
    assert.equal(signSandboxBody(creds.secret, body), `sha256=${createHmac('sha256', creds.secret).update(body).digest('hex')}`);
    assert.equal(wh.verify(signed(body), creds), true);
  });
  test('tampered body, wrong secret, missing header, other line all fail', () => {
    const r = signed(body);
    assert.equal(wh.verify({ ...r, body: Buffer.from(body.replace('Hallo', 'Hallo!')) }, creds), false);
    assert.equal(wh.verify(signed(body, 'another-secret-01234567'), creds), false);
    assert.equal(wh.verify({ ...r, headers: {} }, creds), false);
    assert.equal(wh.verify({ ...r, headers: { 'x-sandbox-signature': signSandboxBody(creds.secret, body).replace('sha256=', '') } }, creds), false);
    assert.equal(wh.verify(signed(body), { ...creds, lineId: 'sandbox-zzz' }), false, 'lineId in the body must match');
  });
});

describe('sandbox webhook parse', () => {
  test('a batch of message + statuses → canonical events in order', () => {
    const r = wh.parse(signed(JSON.stringify(sample())));
    assert.ok(r.ok);
    assert.equal(r.events.length, 3);
    const [m, d, f] = r.events;
    assert.deepEqual(m, {
      kind: 'message.received',
      externalId: 'sandbox-abc123',
      dedupeKey: 'msg:sbm_in1',
      timestamp: new Date(TS),
      providerMessageId: 'sbm_in1',
      chat: '+4915112345678',
      from: '+4915112345678',
      fromMe: false,
      profileName: 'Jonas',
      replyTo: 'sbm_out0',
      content: { type: 'text', text: 'Hallo' },
    });
    assert.deepEqual(d, { kind: 'message.status', externalId: 'sandbox-abc123', dedupeKey: 'status:sbm_out1:delivered', timestamp: new Date(TS), providerMessageId: 'sbm_out1', status: 'delivered', recipient: '+14155552671' });
    assert.ok(f?.kind === 'message.status' && f.status === 'failed' && f.error?.code === 'recipient_unavailable');
  });

  test('other inbound contents; unknown ones are kept as unsupported', () => {
    const withContent = (content: unknown) => {
      const b = sample();
      (b.events[0] as { message: { content: unknown } }).message.content = content;
      const r = wh.parse(signed(JSON.stringify({ ...b, events: [b.events[0]] })));
      assert.ok(r.ok && r.events[0]?.kind === 'message.received');
      return r.events[0].content;
    };
    assert.deepEqual(withContent({ type: 'image', media: { url: 'https://x/y.jpg', mimeType: 'image/jpeg' }, caption: 'c' }), { type: 'image', media: { url: 'https://x/y.jpg', mimeType: 'image/jpeg' }, caption: 'c' });
    assert.deepEqual(withContent({ type: 'location', latitude: 1, longitude: 2, name: 'N' }), { type: 'location', latitude: 1, longitude: 2, name: 'N' });
    assert.deepEqual(withContent({ type: 'reaction', messageId: 'sbm_1', emoji: '' }), { type: 'reaction', messageId: 'sbm_1', emoji: '' });
    assert.deepEqual(withContent({ type: 'hologram' }), { type: 'unsupported', providerType: 'hologram' });
    assert.deepEqual(withContent({ type: 'image', media: {} }), { type: 'unsupported', providerType: 'image' });
  });

  test('malformed and unknown payloads are refused with a reason', () => {
    const cases: [unknown, 'malformed' | 'unsupported'][] = [
      ['[]', 'malformed'],
      [{ events: [] }, 'malformed'],
      [{ lineId: 'l', events: {} }, 'malformed'],
      [{ lineId: 'l', events: [{ ...sample().events[0], timestamp: 'noon' }] }, 'malformed'],
      [{ lineId: 'l', events: [{ ...sample().events[1], status: { messageId: 'x', status: 'teleported' } }] }, 'unsupported'],
      [{ lineId: 'l', events: [{ id: 'e', type: 'typing', timestamp: TS }] }, 'unsupported'],
      [{ lineId: 'l', events: [{ ...sample().events[0], message: { id: 'm', from: 'nobody' } }] }, 'malformed'],
    ];
    for (const [body, reason] of cases) {
      const r = wh.parse(signed(typeof body === 'string' ? body : JSON.stringify(body)));
      assert.ok(!r.ok && r.reason === reason, JSON.stringify(body));
    }
    const empty = wh.parse(signed(JSON.stringify({ lineId: 'l', events: [] })));
    assert.ok(empty.ok && empty.events.length === 0);
  });

  test('routingKeys is empty: sandbox webhooks are routed by the URL token', () => {
    assert.deepEqual(wh.routingKeys(signed(JSON.stringify(sample()))), []);
  });
});
