import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureBytes, fixtureNames } from '../../../test/support/fixtures.js';
import { isRecord } from '../http.js';
import { canonicalAddress } from './ids.js';
import { parseWahaWebhook } from './webhook.js';
import { raw } from './test-support.js';

/**
 * Every `webhook_*.json` fixture — the visible ones and any acceptance fixture that appears later
 * (CONTRACTS.md names `webhook_message_ack_group.json`, `webhook_message_group_gows_real.json`, …) —
 * must turn into the canonical event its WAHA event name implies, with the group rules applied.
 */

const KIND: Record<string, string> = {
  message: 'message.received',
  'message.any': 'message.received',
  'message.reaction': 'message.received',
  'message.ack': 'message.status',
  'message.ack.group': 'message.status',
  'message.revoked': 'message.revoked',
  'message.edited': 'message.edited',
  'session.status': 'session.status',
};

const names = fixtureNames('waha').filter((n) => n.startsWith('webhook_'));

test('there are WAHA webhook fixtures to check', () => {
  assert.ok(names.length >= 6, `found ${names.length}`);
});

for (const name of names) {
  test(`${name}: parses to the event its WAHA event implies`, () => {
    const env = JSON.parse(fixtureBytes('waha', name).toString('utf8')) as Record<string, unknown>;
    const event = String(env.event);
    const payload = isRecord(env.payload) ? env.payload : {};
    const r = parseWahaWebhook(raw(fixtureBytes('waha', name)));
    assert.ok(r.ok, `${name}: ${!r.ok ? r.detail : ''}`);
    const expectedKind = KIND[event];
    assert.ok(expectedKind, `${name}: event ${event} has no expectation here; add one`);
    const ackZero = expectedKind === 'message.status' && (payload.ack === 0 || payload.fromMe === false);
    assert.equal(r.events.length, ackZero ? 0 : 1, name);
    const e = r.events[0];
    if (!e) return;
    assert.equal(e.kind, expectedKind);
    assert.equal(e.externalId, env.session, 'externalId is the envelope session');
    assert.ok(!Number.isNaN(e.timestamp.getTime()));
    const from = typeof payload.from === 'string' ? payload.from : '';
    if (e.kind === 'message.received' && from.endsWith('@g.us')) {
      assert.equal(e.chat, canonicalAddress(from), 'group chat is `from`');
      if (typeof payload.participant === 'string') assert.equal(e.from, canonicalAddress(payload.participant), 'group sender is `participant`');
    }
    if (e.kind === 'message.received' && event === 'message.reaction') assert.equal(e.content.type, 'reaction');
    if (e.kind === 'message.received' && payload.hasMedia === true) assert.ok(['image', 'video', 'audio', 'voice', 'document', 'sticker'].includes(e.content.type));
    if (e.kind === 'message.status') {
      assert.equal(e.providerMessageId, payload.id);
      assert.equal(e.status, { '-1': 'failed', '1': 'sent', '2': 'delivered', '3': 'read', '4': 'played' }[String(payload.ack)]);
      if (from.endsWith('@g.us') && typeof payload.participant === 'string') {
        assert.equal(e.recipient, canonicalAddress(payload.participant), 'group acks are per participant');
        assert.ok(e.dedupeKey.endsWith(`:${canonicalAddress(payload.participant)}`));
      }
    }
    if (e.kind === 'message.revoked') assert.ok(e.providerMessageId.length > 0);
  });
}
