/** The rules CONTRACTS.md states beyond the visible fixtures: batches, BSUID users, groups, failed statuses, legacy types. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../../test/support/fixtures.js';
import type { InboundEvent } from '../../core/canonical.js';
import { classifyCloudApiCode } from './errors.js';
import { cloudApiWebhook } from './webhook.js';
import { F, LINE, contentOf, msg, only, parseJson, rawOf, wrap } from './test-helpers.js';

describe('cloud-api webhook: batching and acceptance rules', () => {
  test('every entry, change, message and status of a batch is handled, each with its own line', () => {
    const text = fixtureJson<{ entry: unknown[] }>(F, 'webhook_text_message.json');
    const image = fixtureJson<{ entry: { changes: unknown[] }[] }>(F, 'webhook_image_message.json');
    const status = fixtureJson<{ entry: { changes: unknown[] }[] }>(F, 'webhook_status_delivered_real.json');
    const second = wrap(
      {
        contacts: [{ profile: { name: 'Bo' }, wa_id: '447700900123' }],
        messages: [
          msg({ from: '447700900123', type: 'text', text: { body: 'one' } }),
          msg({ from: '447700900123', type: 'text', text: { body: 'two' } }),
        ],
      },
      '222222222222222',
    );
    const payload = {
      object: 'whatsapp_business_account',
      entry: [
        ...text.entry,
        { id: '122951744235903', changes: [...status.entry[0]!.changes, ...image.entry[0]!.changes] },
        ...(second.entry as unknown[]),
      ],
    };
    const events = parseJson(payload);
    assert.equal(events.length, 5);
    assert.deepEqual(
      events.map((e) => e.kind),
      ['message.received', 'message.status', 'message.received', 'message.received', 'message.received'],
    );
    assert.deepEqual(
      events.map((e) => e.externalId),
      [LINE, '114896151713920', LINE, '222222222222222', '222222222222222'],
    );
    const texts = events.flatMap((e) =>
      e.kind === 'message.received' && e.content.type === 'text' ? [e.content.text] : [],
    );
    assert.deepEqual(texts, ['Does it come in another color?', 'one', 'two']);
    const bo = events[3] as Extract<InboundEvent, { kind: 'message.received' }>;
    assert.equal(bo.profileName, 'Bo');
    assert.equal(bo.from, '+447700900123');
    assert.deepEqual(cloudApiWebhook.routingKeys(rawOf(JSON.stringify(payload))).sort(), [
      '106540352242922',
      '114896151713920',
      '222222222222222',
    ]);
  });

  test('a status batch with several statuses gives one event each', () => {
    const statuses = ['sent', 'delivered', 'read'].map((s, i) => ({
      id: `wamid.S${i}`,
      status: s,
      timestamp: '1700000000',
      recipient_id: '16505551234',
    }));
    const events = parseJson(wrap({ statuses }));
    assert.deepEqual(
      events.map((e) => e.dedupeKey),
      ['status:wamid.S0:sent', 'status:wamid.S1:delivered', 'status:wamid.S2:read'],
    );
  });

  test('users without a phone number (BSUID only) get a bsuid: address and their profile name', () => {
    const events = parseJson(
      wrap({
        contacts: [{ profile: { name: 'Ana' }, user_id: 'US.13491208655302741918' }],
        messages: [
          {
            from_user_id: 'US.13491208655302741918',
            id: 'wamid.B1',
            timestamp: '1750000000',
            type: 'text',
            text: { body: 'hi' },
          },
        ],
      }),
    );
    const e = only(events, 'message.received');
    assert.equal(e.from, 'bsuid:US.13491208655302741918');
    assert.equal(e.chat, 'bsuid:US.13491208655302741918');
    assert.equal(e.profileName, 'Ana');
    const s = only(
      parseJson(
        wrap({
          statuses: [
            {
              id: 'wamid.B2',
              status: 'delivered',
              timestamp: '1750000001',
              recipient_user_id: 'US.13491208655302741918',
            },
          ],
        }),
      ),
      'message.status',
    );
    assert.equal(s.recipient, 'bsuid:US.13491208655302741918');
  });

  test('a phone number wins over the BSUID when both are present', () => {
    const e = only(
      parseJson(
        wrap({
          contacts: [{ profile: { name: 'Cy' }, wa_id: '16505551234', user_id: 'US.1' }],
          messages: [msg({ from_user_id: 'US.1', type: 'text', text: { body: 'x' } })],
        }),
      ),
      'message.received',
    );
    assert.equal(e.from, '+16505551234');
    assert.equal(e.profileName, 'Cy');
  });

  test('group messages: the chat is the group, the sender is the member', () => {
    const e = only(
      parseJson(
        wrap({
          contacts: [{ profile: { name: 'Alice' }, wa_id: '919999911111' }],
          messages: [
            msg({
              from: '919999911111',
              group_id: 'Y2FwaV9ncm91cDoxODA1NTU1MDE3MjoxMjAzNjMyMjI3NzE5NjMwNjcZD',
              type: 'text',
              text: { body: 'Hello team!' },
            }),
          ],
        }),
      ),
      'message.received',
    );
    assert.equal(e.chat, '120363222771963067@g.us');
    assert.equal(e.from, '+919999911111');
    assert.equal(e.profileName, 'Alice');
    const opaque = only(
      parseJson(
        wrap({ messages: [msg({ group_id: 'Y2FwaV9ncm91cDox', type: 'text', text: { body: 'x' } })] }),
      ),
      'message.received',
    );
    assert.equal(opaque.chat, 'Y2FwaV9ncm91cDox@g.us', 'an undecodable group id is kept, not dropped');
  });

  test('group statuses: one per member, distinct dedupe keys', () => {
    const gid = 'Y2FwaV9ncm91cDoxODA1NTU1MDE3MjoxMjAzNjMyMjI3NzE5NjMwNjcZD';
    const statuses = ['919999911111', '919999922222'].map((p) => ({
      id: 'wamid.G',
      recipient_id: gid,
      recipient_type: 'group',
      recipient_participant_id: p,
      status: 'read',
      timestamp: '1745240001',
    }));
    const events = parseJson(wrap({ statuses }));
    assert.equal(events.length, 2);
    assert.equal(new Set(events.map((e) => e.dedupeKey)).size, 2);
    for (const e of events)
      assert.equal(
        (e as Extract<InboundEvent, { kind: 'message.status' }>).recipient,
        '120363222771963067@g.us',
      );
  });

  test('failed status 131026 (undeliverable) is not retryable', () => {
    const s = only(
      parseJson(
        wrap({
          statuses: [
            {
              id: 'wamid.F',
              status: 'failed',
              timestamp: '1700000000',
              recipient_id: '16505551234',
              errors: [
                {
                  code: 131026,
                  title: 'Message undeliverable',
                  message: 'Message undeliverable',
                  error_data: { details: 'Message Undeliverable.' },
                },
              ],
            },
          ],
        }),
      ),
      'message.status',
    );
    assert.deepEqual(s.error, {
      code: '131026',
      title: 'Message undeliverable',
      detail: 'Message Undeliverable.',
    });
    assert.deepEqual(classifyCloudApiCode(131026), { kind: 'recipient_unavailable', retryable: false });
  });

  test('legacy "unknown" type and any new type become unsupported, never dropped', () => {
    assert.deepEqual(
      contentOf({
        type: 'unknown',
        errors: [{ code: 131051, details: 'Message type unknown', title: 'Message type unknown' }],
      }),
      {
        type: 'unsupported',
        providerType: 'unknown',
        errors: [{ code: '131051', title: 'Message type unknown', detail: 'Message type unknown' }],
      },
    );
    assert.deepEqual(contentOf({ type: 'poll_creation', poll_creation: { question: 'Lunch?' } }), {
      type: 'unsupported',
      providerType: 'poll_creation',
      raw: { question: 'Lunch?' },
    });
    assert.deepEqual(
      contentOf({ type: 'text' }),
      { type: 'unsupported', providerType: 'text' },
      'a text without body is kept as unsupported',
    );
    assert.deepEqual(contentOf({}), { type: 'unsupported', providerType: 'unknown' });
  });

  test('every message type of the contract maps to its canonical content', () => {
    assert.deepEqual(
      contentOf({
        type: 'interactive',
        interactive: {
          type: 'list_reply',
          list_reply: {
            id: 'priority_express',
            title: 'Priority Mail Express',
            description: 'Next Day to 2 Days',
          },
        },
      }),
      {
        type: 'interactive_reply',
        kind: 'list',
        id: 'priority_express',
        title: 'Priority Mail Express',
        description: 'Next Day to 2 Days',
      },
    );
    assert.deepEqual(
      contentOf({
        type: 'interactive',
        interactive: { type: 'nfm_reply', nfm_reply: { name: 'flow', body: 'Sent', response_json: '{}' } },
      }),
      { type: 'unsupported', providerType: 'interactive.nfm_reply', raw: { type: 'nfm_reply', nfm_reply: { name: 'flow', body: 'Sent', response_json: '{}' } } },
    );
    assert.deepEqual(
      contentOf({
        type: 'location',
        location: { latitude: 37.48, longitude: -122.14, name: 'Philz', address: '3300 Middlefield Rd' },
      }),
      {
        type: 'location',
        latitude: 37.48,
        longitude: -122.14,
        name: 'Philz',
        address: '3300 Middlefield Rd',
      },
    );
    assert.deepEqual(
      contentOf({
        type: 'contacts',
        contacts: [
          {
            name: { formatted_name: 'Barbara J. Johnson', first_name: 'Barbara', last_name: 'Johnson' },
            phones: [{ phone: '+1 (415) 555-0123', type: 'HOME', wa_id: '14155550123' }],
            emails: [{ email: 'b@example.com', type: 'WORK' }],
            org: { company: 'Acme', title: 'CEO' },
          },
        ],
      }),
      {
        type: 'contacts',
        contacts: [
          {
            name: { formatted: 'Barbara J. Johnson', first: 'Barbara', last: 'Johnson' },
            phones: [{ phone: '+1 (415) 555-0123', type: 'HOME', waId: '14155550123' }],
            emails: [{ email: 'b@example.com', type: 'WORK' }],
            org: { company: 'Acme', title: 'CEO' },
          },
        ],
      },
    );
    const order = {
      catalog_id: '194836987003835',
      text: '',
      product_items: [{ product_retailer_id: 'di9ozbzfi4', quantity: 2, item_price: 30, currency: 'USD' }],
    };
    assert.deepEqual(contentOf({ type: 'order', order }), { type: 'order', order });
    assert.deepEqual(contentOf({ type: 'request_welcome' }), {
      type: 'system',
      text: '',
      systemType: 'request_welcome',
    });
    assert.deepEqual(
      contentOf({ type: 'audio', audio: { id: 'A1', mime_type: 'audio/ogg; codecs=opus', voice: true } }),
      { type: 'voice', media: { id: 'A1', mimeType: 'audio/ogg; codecs=opus' } },
    );
    assert.deepEqual(
      contentOf({ type: 'voice', voice: { id: 'A3', mime_type: 'audio/ogg; codecs=opus' } }),
      {
        type: 'voice',
        media: { id: 'A3', mimeType: 'audio/ogg; codecs=opus' },
      },
      'legacy On-Premises voice type',
    );
    assert.deepEqual(contentOf({ type: 'audio', audio: { id: 'A2', mime_type: 'audio/mpeg' } }), {
      type: 'audio',
      media: { id: 'A2', mimeType: 'audio/mpeg' },
    });
    assert.deepEqual(
      contentOf({
        type: 'document',
        document: { id: 'D1', mime_type: 'application/pdf', filename: 'invoice.pdf', caption: 'March' },
      }),
      {
        type: 'document',
        media: { id: 'D1', mimeType: 'application/pdf', filename: 'invoice.pdf' },
        caption: 'March',
      },
    );
    assert.deepEqual(contentOf({ type: 'video', video: { id: 'V1', mime_type: 'video/mp4' } }), {
      type: 'video',
      media: { id: 'V1', mimeType: 'video/mp4' },
    });
    assert.deepEqual(
      contentOf({ type: 'sticker', sticker: { id: 'S1', mime_type: 'image/webp', animated: false } }),
      { type: 'sticker', media: { id: 'S1', mimeType: 'image/webp' } },
    );
    assert.deepEqual(
      contentOf({ type: 'reaction', reaction: { message_id: 'wamid.X' } }),
      { type: 'reaction', messageId: 'wamid.X', emoji: '' },
      'removal: emoji absent',
    );
    assert.deepEqual(contentOf({ type: 'reaction', reaction: { message_id: 'wamid.X', emoji: '' } }), {
      type: 'reaction',
      messageId: 'wamid.X',
      emoji: '',
    });
  });

  test('message echoes (coexistence) are fromMe, chat = the customer', () => {
    const payload = wrap({
      message_echoes: [
        {
          from: '15550783881',
          to: '16505551234',
          id: 'wamid.E',
          timestamp: '1750000000',
          type: 'text',
          text: { body: 'sent from the app' },
        },
      ],
    });
    (payload.entry as { changes: { field: string }[] }[])[0]!.changes[0]!.field = 'smb_message_echoes';
    const e = only(parseJson(payload), 'message.received');
    assert.equal(e.fromMe, true);
    assert.equal(e.chat, '+16505551234');
  });

  test('other fields, unroutable changes and items without ids yield no events', () => {
    const tpl = wrap({ event: 'APPROVED', message_template_id: 1 });
    (tpl.entry as { changes: { field: string }[] }[])[0]!.changes[0]!.field =
      'message_template_status_update';
    assert.deepEqual(parseJson(tpl), []);
    assert.deepEqual(
      parseJson({
        object: 'whatsapp_business_account',
        entry: [
          {
            id: '1',
            changes: [
              { field: 'messages', value: { messages: [msg({ type: 'text', text: { body: 'x' } })] } },
            ],
          },
        ],
      }),
      [],
    );
    assert.deepEqual(
      parseJson(wrap({ messages: [{ from: '16505551234', type: 'text', text: { body: 'no id' } }] })),
      [],
    );
  });

  test('non-JSON, non-object and foreign objects are rejected without throwing', () => {
    assert.deepEqual(cloudApiWebhook.parse(rawOf('not json')).ok, false);
    assert.deepEqual(cloudApiWebhook.parse(rawOf('[1,2]')).ok, false);
    const page = cloudApiWebhook.parse(rawOf(JSON.stringify({ object: 'page', entry: [] })));
    assert.equal(page.ok, false);
    assert.equal(!page.ok && page.reason, 'unsupported');
    assert.equal(
      cloudApiWebhook.parse(rawOf(JSON.stringify({ object: 'whatsapp_business_account', entry: {} }))).ok,
      false,
    );
    assert.deepEqual(cloudApiWebhook.routingKeys(rawOf('{{{')), []);
  });
});
