import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureBytes, fixtureJson } from '../../../test/support/fixtures.js';
import { hmac } from '../../core/signatures.js';
import { classifyCloudApiCode } from './errors.js';
import { cloudApiWebhook, verifyChallenge, verifySignature } from './webhook.js';
import { F, LINE, only, parseFixture, rawOf } from './test-helpers.js';
import type { CloudApiCredentials } from './credentials.js';

describe('cloud-api webhook: Meta fixtures', () => {
  test('text message', () => {
    const e = only(parseFixture('webhook_text_message.json'), 'message.received');
    assert.deepEqual(e, {
      kind: 'message.received',
      externalId: LINE,
      dedupeKey: 'msg:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
      timestamp: new Date(1749416383 * 1000),
      providerMessageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
      chat: '+16505551234',
      from: '+16505551234',
      fromMe: false,
      profileName: 'Sheena Nelson',
      content: { type: 'text', text: 'Does it come in another color?' },
    });
  });

  test('image message keeps media id, mime type, sha256 and caption', () => {
    const e = only(parseFixture('webhook_image_message.json'), 'message.received');
    assert.deepEqual(e.content, {
      type: 'image',
      media: {
        id: '1003383421387256',
        mimeType: 'image/jpeg',
        sha256: 'SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=',
      },
      caption: 'Taj Mahal',
    });
    assert.equal(e.timestamp.getTime(), 1744344496000);
  });

  test('interactive button reply carries the tapped id and the replied-to message', () => {
    const e = only(parseFixture('webhook_interactive_button_reply.json'), 'message.received');
    assert.deepEqual(e.content, {
      type: 'interactive_reply',
      kind: 'button',
      id: 'cancel-button',
      title: 'Cancel',
    });
    assert.equal(e.replyTo, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA');
  });

  test('reaction', () => {
    const e = only(parseFixture('webhook_reaction_message.json'), 'message.received');
    assert.deepEqual(e.content, {
      type: 'reaction',
      messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA',
      emoji: '👍',
    });
    assert.equal(e.replyTo, undefined);
  });

  test('template quick-reply button', () => {
    const e = only(parseFixture('webhook_template_quick_reply_button.json'), 'message.received');
    assert.deepEqual(e.content, { type: 'button', payload: 'Unsubscribe', text: 'Unsubscribe' });
    assert.equal(e.replyTo, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA');
  });

  test('system message has no contacts[] and still parses', () => {
    const e = only(parseFixture('webhook_system_message.json'), 'message.received');
    assert.deepEqual(e.content, {
      type: 'system',
      text: 'User Sheena Nelson changed from 16505551234 to 12195555358',
      systemType: 'user_changed_number',
    });
    assert.equal(e.profileName, undefined);
    assert.equal(e.from, '+16505551234');
  });

  test('unsupported message is kept with its 131051 error', () => {
    const e = only(parseFixture('webhook_unsupported_message.json'), 'message.received');
    assert.deepEqual(e.content, {
      type: 'unsupported',
      providerType: 'unsupported',
      errors: [
        { code: '131051', title: 'Message type unknown', detail: 'Message type is currently not supported.' },
      ],
    });
  });

  test("a WhatsApp Flow's answers (interactive.nfm_reply, not modelled) are kept with the message, not dropped", async () => {
    const { inboundContent } = await import('./inbound.js');
    const nfm = { type: 'nfm_reply', nfm_reply: { name: 'flow', body: 'Sent', response_json: '{"flow_token":"t","size":"L"}' } };
    assert.deepEqual(inboundContent({ from: '16505551234', id: 'wamid.flow', timestamp: '1700000000', type: 'interactive', interactive: nfm }), {
      type: 'unsupported', providerType: 'interactive.nfm_reply', raw: nfm,
    });
    const later = { anything: ['a type Meta adds later'] };
    assert.deepEqual(inboundContent({ type: 'hologram', hologram: later }), { type: 'unsupported', providerType: 'hologram', raw: later });
  });

  for (const [name, status, ts] of [
    ['webhook_status_sent_real.json', 'sent', 1694492482],
    ['webhook_status_delivered_real.json', 'delivered', 1694492484],
    ['webhook_status_read_derived.json', 'read', 1694492490],
  ] as const) {
    test(`status ${status} (${name})`, () => {
      const e = only(parseFixture(name), 'message.status');
      assert.deepEqual(e, {
        kind: 'message.status',
        externalId: '114896151713920',
        dedupeKey: `status:wamid.HBgLNjAxNzM1MjYyMzMVAgARGBJCNkY5NTBENEU3ODYxQTM3RUQA:${status}`,
        timestamp: new Date(ts * 1000),
        providerMessageId: 'wamid.HBgLNjAxNzM1MjYyMzMVAgARGBJCNkY5NTBENEU3ODYxQTM3RUQA',
        status,
        recipient: '+60173526233',
      });
    });
  }

  test('failed status 131047 carries the error and classifies as re-engagement, not retryable', () => {
    const e = only(parseFixture('webhook_status_failed_131047_derived.json'), 'message.status');
    assert.equal(e.status, 'failed');
    assert.equal(e.recipient, '+16505551234');
    assert.deepEqual(e.error, {
      code: '131047',
      title: 'Re-engagement message',
      detail:
        'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
    });
    assert.deepEqual(classifyCloudApiCode(Number(e.error!.code)), {
      kind: 're_engagement_required',
      retryable: false,
    });
  });

  test('value.errors become provider.error events with a stable dedupe key', () => {
    const e = only(parseFixture('webhook_value_errors_130429.json'), 'provider.error');
    assert.equal(e.externalId, LINE);
    assert.deepEqual(e.error, {
      code: '130429',
      title: 'Rate limit hit',
      detail:
        'Message failed to send because there were too many messages sent from this phone number in a short period of time',
    });
    assert.match(e.dedupeKey, /^error:130429:/);
  });

  test('value.errors: a redelivery within the hour has the same dedupe key; the same error an hour later a new one', (t) => {
    // The fixture's entry has no `time` (as Meta sends errors): the receipt hour is in the key.
    t.mock.timers.enable({ apis: ['Date'], now: Date.UTC(2026, 11, 1, 10, 5) });
    const first = only(parseFixture('webhook_value_errors_130429.json'), 'provider.error');
    t.mock.timers.setTime(Date.UTC(2026, 11, 1, 10, 55));
    assert.equal(only(parseFixture('webhook_value_errors_130429.json'), 'provider.error').dedupeKey, first.dedupeKey);
    t.mock.timers.setTime(Date.UTC(2026, 11, 1, 11, 5));
    assert.notEqual(only(parseFixture('webhook_value_errors_130429.json'), 'provider.error').dedupeKey, first.dedupeKey);
  });

  test('routingKeys lists the line of each fixture', () => {
    assert.deepEqual(cloudApiWebhook.routingKeys(rawOf(fixtureBytes(F, 'webhook_status_sent_real.json'))), [
      '114896151713920',
    ]);
    assert.deepEqual(cloudApiWebhook.routingKeys(rawOf(fixtureBytes(F, 'webhook_text_message.json'))), [
      LINE,
    ]);
  });
});

describe('cloud-api webhook: signatures and the GET handshake', () => {
  const vectors = fixtureJson<{
    vectors: {
      key: string;
      body?: string;
      body_file?: string;
      expected_hex?: string;
      expected_header?: string;
    }[];
  }>(F, 'signature_test_vectors.json');
  const creds = (appSecret: string) => ({ appSecret }) as CloudApiCredentials;

  test('vector 1 (hexdocs): HMAC-SHA256("secret", "test")', () => {
    const v = vectors.vectors[0]!;
    assert.equal(hmac('sha256', v.key, v.body!, 'hex'), v.expected_hex);
    assert.equal(
      cloudApiWebhook.verify(
        rawOf(v.body!, { 'x-hub-signature-256': `sha256=${v.expected_hex}` }),
        creds(v.key),
      ),
      true,
    );
    assert.equal(
      cloudApiWebhook.verify(
        rawOf('test!', { 'x-hub-signature-256': `sha256=${v.expected_hex}` }),
        creds(v.key),
      ),
      false,
    );
  });

  test('vector 2: the raw minified sent-status body', () => {
    const v = vectors.vectors[1]!;
    const body = fixtureBytes(F, 'webhook_status_sent_real.json').toString('utf8').replace(/\n$/, '');
    assert.equal(
      cloudApiWebhook.verify(rawOf(body, { 'x-hub-signature-256': v.expected_header }), creds(v.key)),
      true,
    );
    const tampered = body.replace('"sent"', '"read"');
    assert.equal(
      cloudApiWebhook.verify(rawOf(tampered, { 'x-hub-signature-256': v.expected_header }), creds(v.key)),
      false,
    );
    assert.equal(
      cloudApiWebhook.verify(
        rawOf(body, { 'x-hub-signature-256': v.expected_header }),
        creds('other_secret'),
      ),
      false,
    );
  });

  test('missing or garbled headers are false, never a throw', () => {
    const sig = hmac('sha256', 'k', 'b', 'hex');
    for (const h of [
      undefined,
      '',
      sig,
      `sha1=${sig}`,
      'sha256=',
      'sha256=zz',
      `sha256=${sig}00`,
      `sha256=${sig.slice(2)}`,
      `sha256 = ${sig}`,
    ]) {
      assert.equal(
        cloudApiWebhook.verify(rawOf('b', { 'x-hub-signature-256': h }), creds('k')),
        false,
        String(h),
      );
    }
    assert.equal(
      verifySignature(Buffer.from('b'), `sha256=${sig}`, ''),
      false,
      'an empty secret never verifies',
    );
    assert.equal(verifySignature(Buffer.from('b'), `sha256=${sig.toUpperCase()}`, 'k'), true);
  });

  test('GET verification answers the challenge only for subscribe + a known token', () => {
    const f = fixtureJson<{
      request: { query: Record<string, string> };
      expected_response: { body: string };
    }>(F, 'webhook_verification_get.json');
    assert.equal(
      verifyChallenge(f.request.query, ['other', '<your VERIFY_TOKEN>']),
      f.expected_response.body,
    );
    assert.equal(verifyChallenge(f.request.query, ['other']), null);
    assert.equal(
      verifyChallenge({ ...f.request.query, 'hub.mode': 'unsubscribe' }, ['<your VERIFY_TOKEN>']),
      null,
    );
    assert.equal(
      verifyChallenge({ ...f.request.query, 'hub.challenge': undefined }, ['<your VERIFY_TOKEN>']),
      null,
    );
    assert.equal(verifyChallenge({ 'hub.mode': 'subscribe', 'hub.challenge': '1' }, ['']), null);
    assert.equal(
      verifyChallenge({ ...f.request.query, 'hub.challenge': '<script>alert(1)</script>' }, [
        '<your VERIFY_TOKEN>',
      ]),
      null,
      'only token-like challenges are echoed',
    );
  });
});
