import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson, fixtureNames } from '../../../test/support/fixtures.js';
import { normalizeAddress } from '../../core/address.js';
import { ultramsgWebhook as wh } from './webhook.js';
import { raw } from './test-support.js';

/**
 * Rules every UltraMsg webhook fixture must satisfy, including ones added later (the acceptance set
 * CONTRACTS.md keeps aside, e.g. `webhook_message_create_fromme.json`): each parses, every event
 * belongs to `instance<instanceId>`, and the event mirrors the envelope's own fields.
 */
type Env = { event_type: string; instanceId: string; id?: unknown; referenceId?: unknown; data: Record<string, unknown> };
const webhookFixtures = fixtureNames('ultramsg').filter((n) => n.startsWith('webhook_'));

test('every webhook fixture parses by the envelope rules', () => {
  assert.ok(webhookFixtures.length >= 2);
  for (const name of webhookFixtures) {
    const env = fixtureJson<Env>('ultramsg', name);
    const r = wh.parse(raw(env));
    assert.ok(r.ok, `${name}: ${JSON.stringify(r)}`);
    assert.ok(wh.verify(raw(env), { instanceId: String(env.instanceId), token: 'x' }), `${name} verifies for its own instance`);
    const fromMe = env.data.fromMe === true || env.data.fromMe === 'true';
    for (const e of r.events) {
      assert.equal(e.externalId, `instance${String(env.instanceId).replace(/^instance/i, '')}`, name);
      // Acks, and echoes of our own sends (fromMe naming a `msg_…` of ours), are statuses (decision 045).
      const echo = fromMe && /^msg_[0-9A-Za-z]+$/.test(String(env.referenceId ?? ''));
      if (env.event_type === 'message_ack' || echo) {
        assert.equal(e.kind, 'message.status', name);
        if (echo) assert.equal(e.kind === 'message.status' && e.providerMessageId, env.referenceId, `${name}: the echo names our message`);
        continue;
      }
      assert.equal(e.kind, 'message.received', name);
      if (e.kind !== 'message.received') continue;
      assert.equal(e.fromMe, fromMe, name);
      assert.equal(e.chat, normalizeAddress(String(fromMe ? env.data.to : env.data.from)), `${name}: chat is the peer`);
      if (!fromMe) assert.equal(e.providerMessageId, env.data.id, `${name}: inbound ids are WhatsApp ids`);
      if (env.data.type === 'chat') assert.deepEqual(e.content, { type: 'text', text: env.data.body }, name);
    }
  }
});

const FROM_ME = 'webhook_message_create_fromme.json';
test(`${FROM_ME}: our own message comes back as fromMe (or as a sent status when it names ours), peer = to`, { skip: !webhookFixtures.includes(FROM_ME) && 'fixture held back' }, () => {
  const env = fixtureJson<Env>('ultramsg', FROM_ME);
  const r = wh.parse(raw(env));
  assert.ok(r.ok);
  assert.equal(r.events.length, 1);
  const e = r.events[0]!;
  if (/^msg_/.test(String(env.referenceId ?? ''))) {
    assert.ok(e.kind === 'message.status' && e.status === 'sent' && e.recipient === normalizeAddress(String(env.data.to)));
    return;
  }
  assert.ok(e.kind === 'message.received' && e.fromMe);
  assert.equal(e.chat, normalizeAddress(String(env.data.to)));
});
