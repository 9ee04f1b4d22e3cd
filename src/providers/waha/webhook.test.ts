import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureBytes, fixtureJson } from '../../../test/support/fixtures.js';
import { hmac } from '../../core/signatures.js';
import { events, raw } from './test-support.js';
import { wahaWebhook } from './webhook.js';

/** Visible fixtures: every body becomes exactly the canonical events listed, field by field. */
describe('WAHA webhook fixtures', () => {
  test('webhook_message_webjs_full.json: legacy envelope (no id/timestamp), own text message', () => {
    const evs = events(fixtureBytes('waha', 'webhook_message_webjs_full.json'));
    assert.equal(evs.length, 1);
    const e = evs[0]!;
    assert.equal(e.kind, 'message.received');
    if (e.kind !== 'message.received') return;
    assert.equal(e.externalId, 'default');
    assert.equal(e.providerMessageId, 'true_11111111111@c.us_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(e.dedupeKey, 'msg:true_11111111111@c.us_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(e.chat, '+11111111111');
    assert.equal(e.from, '+11111111111');
    assert.equal(e.fromMe, true);
    assert.equal(e.profileName, undefined, 'our own push name is not the peer profile');
    assert.deepEqual(e.content, { type: 'text', text: 'Hi there!' });
    assert.equal(e.timestamp.getTime(), 1667561485_000);
  });

  test('webhook_message_group_webjs_real.json: group chat is `from`, sender is the @lid participant', () => {
    const evs = events(fixtureBytes('waha', 'webhook_message_group_webjs_real.json'));
    assert.equal(evs.length, 1);
    const e = evs[0]!;
    assert.ok(e.kind === 'message.received');
    assert.equal(e.externalId, 'default');
    assert.equal(e.chat, '120363404882958348@g.us');
    assert.equal(e.from, '24610246492311@lid');
    assert.equal(e.fromMe, false);
    assert.equal(e.providerMessageId, 'false_120363404882958348@g.us_3EB01C0FDFD037F51A4DEF_24610246492311@lid');
    assert.deepEqual(e.content, { type: 'text', text: 'Blooooo' });
    assert.equal(e.timestamp.getTime(), 1769152370_000);
  });

  test('webhook_message_any_group_sticker_noweb_partial.json: own group sticker, body null, anonymised ids kept', () => {
    const evs = events(fixtureBytes('waha', 'webhook_message_any_group_sticker_noweb_partial.json'));
    assert.equal(evs.length, 1);
    const e = evs[0]!;
    assert.ok(e.kind === 'message.received');
    assert.equal(e.externalId, '036322');
    assert.equal(e.chat, 'xxx@g.us');
    assert.equal(e.from, '172078351257794@lid');
    assert.equal(e.fromMe, true);
    assert.equal(e.dedupeKey, 'msg:xxx@g.us_AC6C100E31E2E6127D13CA7EA296C897_172078351257794@lid');
    assert.deepEqual(e.content, {
      type: 'sticker',
      media: {
        url: 'http://localhost:3000/api/files/036322/AC6C100E31E2E6127D13CA7EA296C897.webp',
        mimeType: 'image/webp',
        filename: 'AC6C100E31E2E6127D13CA7EA296C897.webp',
      },
    });
    assert.equal(e.timestamp.getTime(), 1787709981_000);
  });

  test('webhook_message_media_docs.json: image with caption; fromMe read from the true_ id when the field is absent', () => {
    const evs = events(fixtureBytes('waha', 'webhook_message_media_docs.json'));
    assert.equal(evs.length, 1);
    const e = evs[0]!;
    assert.ok(e.kind === 'message.received');
    assert.equal(e.fromMe, true);
    assert.equal(e.chat, '+11111111111');
    assert.deepEqual(e.content, {
      type: 'image',
      media: { url: 'http://localhost:3000/api/files/true_11111111111@c.us_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.jpg', mimeType: 'image/jpeg' },
      caption: 'Check this out (caption for the media)!',
    });
  });

  test('webhook_message_ack.json: ack 3 READ → status read for the recipient chat', () => {
    const before = Date.now();
    const evs = events(fixtureBytes('waha', 'webhook_message_ack.json'));
    assert.equal(evs.length, 1);
    const e = evs[0]!;
    assert.ok(e.kind === 'message.status');
    assert.equal(e.status, 'read');
    assert.equal(e.providerMessageId, 'true_11111111111@c.us_4CC5EDD64BC22EBA6D639F2AF571346C');
    assert.equal(e.recipient, '+11111111111');
    assert.equal(e.dedupeKey, 'status:true_11111111111@c.us_4CC5EDD64BC22EBA6D639F2AF571346C:3');
    assert.equal(e.error, undefined);
    // No timestamp anywhere in this payload: the parse time stands in, never an invalid date.
    assert.ok(e.timestamp.getTime() >= before && e.timestamp.getTime() <= Date.now());
  });

  test('webhook_session_status.json: WORKING, timestamped by its point in `statuses`', () => {
    const evs = events(fixtureBytes('waha', 'webhook_session_status.json'));
    assert.deepEqual(evs, [
      { kind: 'session.status', externalId: 'default', dedupeKey: 'session:WORKING:1700000003000', timestamp: new Date(1700000003000), status: 'working' },
    ]);
  });
});

describe('WAHA webhook signature (X-Webhook-Hmac, HMAC-SHA512 hex)', () => {
  const vector = fixtureJson<{ key: string; body: string; expected_hmac: string; algorithm: string }>('waha', 'hmac_test_vector.json');
  const creds = { baseUrl: 'http://w', apiKey: 'k', sessionName: 'default', webhookHmacKey: vector.key };

  test('hmac_test_vector.json verifies, with and without the algorithm header', () => {
    assert.equal(hmac('sha512', vector.key, vector.body, 'hex'), vector.expected_hmac);
    assert.equal(wahaWebhook.verify(raw(vector.body, { 'x-webhook-hmac': vector.expected_hmac, 'x-webhook-hmac-algorithm': vector.algorithm }), creds), true);
    assert.equal(wahaWebhook.verify(raw(vector.body, { 'x-webhook-hmac': vector.expected_hmac }), creds), true);
    assert.equal(wahaWebhook.verify(raw(vector.body, { 'x-webhook-hmac': vector.expected_hmac.toUpperCase() }), creds), true, 'hex case is not significant');
  });

  test('tampered body, wrong key, missing or truncated header, other algorithm: rejected', () => {
    const sig = { 'x-webhook-hmac': vector.expected_hmac };
    assert.equal(wahaWebhook.verify(raw(vector.body.replace('WEBJS', 'NOWEB'), sig), creds), false);
    assert.equal(wahaWebhook.verify(raw(`${vector.body} `, sig), creds), false);
    assert.equal(wahaWebhook.verify(raw(vector.body, sig), { ...creds, webhookHmacKey: 'my-secret-key2' }), false);
    assert.equal(wahaWebhook.verify(raw(vector.body), creds), false);
    assert.equal(wahaWebhook.verify(raw(vector.body, { 'x-webhook-hmac': vector.expected_hmac.slice(0, 64) }), creds), false);
    assert.equal(wahaWebhook.verify(raw(vector.body, { ...sig, 'x-webhook-hmac-algorithm': 'sha256' }), creds), false);
    assert.equal(wahaWebhook.verify(raw(vector.body, sig), { ...creds, webhookHmacKey: '' }), false);
  });

  test('routing is by URL token: no routing keys', () => {
    assert.deepEqual(wahaWebhook.routingKeys(raw(vector.body)), []);
  });
});
