/**
 * Words from a payload that index a map of ours (statuses, ack names, message types) must match
 * only the map's own entries: `__proto__`, `constructor` and `toString` name properties every
 * object inherits. Found by the WAHA property test (seed 561115614): `payload.status: "__proto__"`
 * made a session.status event whose status was Object.prototype.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../test/support/fixtures.js';
import { lookup } from './http.js';
import { wahaWebhook } from './waha/webhook.js';
import { mapSessionStatus } from './waha/session.js';
import { raw as wahaRaw } from './waha/test-support.js';
import { ultramsgWebhook } from './ultramsg/webhook.js';
import { mapInstanceStatus } from './ultramsg/session.js';
import { raw as ultramsgRaw } from './ultramsg/test-support.js';

const INHERITED = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
const STRINGS = (v: unknown) => typeof v === 'string';

test('lookup reads own entries only', () => {
  const map: Record<string, number> = { a: 1 };
  assert.equal(lookup(map, 'a'), 1);
  for (const k of INHERITED) assert.equal(lookup(map, k), undefined, k);
});

test('WAHA: a session status, an ack name or a message type named like an inherited property', () => {
  for (const word of INHERITED) {
    assert.equal(mapSessionStatus(word), 'starting', word);

    const session = fixtureJson<{ payload: Record<string, unknown> }>('waha', 'webhook_session_status.json');
    session.payload.status = word;
    const s = wahaWebhook.parse(wahaRaw(session));
    assert.ok(s.ok, word);
    assert.deepEqual(s.events.map((e) => (e.kind === 'session.status' ? e.status : e.kind)), ['starting'], word);

    const ack = fixtureJson<{ payload: Record<string, unknown> }>('waha', 'webhook_message_ack.json');
    delete ack.payload.ack;
    ack.payload.ackName = word;
    const a = wahaWebhook.parse(wahaRaw(ack));
    assert.equal(a.ok, false, word);

    const msg = fixtureJson<{ payload: Record<string, unknown> }>('waha', 'webhook_message_webjs_full.json');
    msg.payload.type = word;
    msg.payload.hasMedia = true;
    const m = wahaWebhook.parse(wahaRaw(msg));
    assert.ok(m.ok, word);
    assert.ok(m.events.some((e) => e.kind === 'message.received'), word);
    for (const e of m.events) if (e.kind === 'message.received') assert.ok(STRINGS(e.content.type), `${word}: ${String(e.content.type)}`);
  }
});

test('UltraMsg: a message type, an ack or an instance status named like an inherited property', () => {
  for (const word of INHERITED) {
    assert.equal(mapInstanceStatus({ status: { accountStatus: { status: word } } }).status, 'failed', word);

    const msg = fixtureJson<{ data: Record<string, unknown> }>('ultramsg', 'webhook_message_received.json');
    msg.data.type = word;
    const m = ultramsgWebhook.parse(ultramsgRaw(msg));
    assert.ok(m.ok, word);
    for (const e of m.events) if (e.kind === 'message.received') assert.equal(e.content.type, 'unsupported', word);
    assert.ok(m.events.some((e) => e.kind === 'message.received'), word);

    const ack = fixtureJson<{ data: Record<string, unknown> }>('ultramsg', 'webhook_message_ack_derived.json');
    ack.data.ack = word;
    const r = ultramsgWebhook.parse(ultramsgRaw(ack));
    assert.equal(r.ok, false, word);
    if (!r.ok) assert.equal(r.reason, 'unsupported', word);
  }
});
