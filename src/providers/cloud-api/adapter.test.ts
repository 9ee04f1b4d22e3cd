import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureBytes, fixtureJson } from '../../../test/support/fixtures.js';
import type { OutboundContent } from '../../core/canonical.js';
import type { ChannelRef } from '../types.js';
import { createCloudApiAdapter } from './adapter.js';
import type { CloudApiCredentials } from './credentials.js';
import { createCloudApiSimulator, type CloudApiSimulator } from './simulator.js';
import { F, deps, FIXTURE_PHONE } from './test-helpers.js';

const TO = '+16505551234';

/** A fixture with its placeholders replaced by values Meta (and so the simulator) would accept. */
function expected(name: string, subs: Record<string, string> = {}): Record<string, unknown> {
  let text = fixtureBytes(F, name).toString('utf8');
  for (const [from, to] of Object.entries({ '{{Recipient-Phone-Number}}': '16505551234', ...subs }))
    text = text.split(from).join(to);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Template as the spec's example needs it: an image header and three body parameters. */
const FIXTURE_TEMPLATE = {
  name: 'template-name',
  language: 'language-and-locale-code',
  status: 'APPROVED',
  category: 'MARKETING',
  components: [
    { type: 'HEADER', format: 'IMAGE' },
    { type: 'BODY', text: 'Hi {{1}}, you owe {{2}} since {{3}}' },
  ],
};

describe('cloud-api adapter against the simulator: request bodies equal Meta fixtures', () => {
  let sim: CloudApiSimulator;
  let ch: ChannelRef<CloudApiCredentials>;
  const adapter = createCloudApiAdapter(deps());

  before(async () => {
    sim = createCloudApiSimulator({
      phones: [FIXTURE_PHONE],
      templates: [FIXTURE_TEMPLATE, { name: 'hello_world', language: 'en_US' }],
    });
    await sim.listen();
    ch = { tenantId: 'ten_1', channelId: 'chn_1', credentials: sim.credentials() };
  });
  after(() => sim.close());

  async function sendAndRecord(
    content: OutboundContent,
    extra: { replyTo?: string; to?: string } = {},
  ): Promise<Record<string, unknown>> {
    const res = await adapter.send(ch, {
      to: extra.to ?? TO,
      content,
      clientRef: 'msg_01J',
      ...(extra.replyTo ? { replyTo: extra.replyTo } : {}),
    });
    const last = sim.sent.at(-1)!;
    assert.equal(res.providerMessageId, last.wamid, 'the wamid the simulator issued is returned');
    const recorded = sim.requests('/messages').at(-1)!.json as Record<string, unknown>;
    assert.equal(
      sim.requests('/messages').at(-1)!.headers.authorization,
      `Bearer ${ch.credentials.accessToken}`,
    );
    const { biz_opaque_callback_data: biz, ...rest } = recorded;
    assert.equal(biz, 'msg_01J', 'our message id rides along for status matching');
    return rest;
  }

  test('send_text_request.json', async () => {
    assert.deepEqual(
      await sendAndRecord({ type: 'text', text: 'text-message-content' }),
      expected('send_text_request.json'),
    );
  });

  test('send_text_reply_context_request.json', async () => {
    const body = await sendAndRecord(
      { type: 'text', text: '<TEXT_MSG_CONTENT>' },
      { replyTo: '<MSGID_OF_PREV_MSG>' },
    );
    assert.deepEqual(body, expected('send_text_reply_context_request.json'));
  });

  test('send_image_by_id_request.json (id of a real upload)', async () => {
    const { id } = await adapter.media!.upload(ch, {
      data: Buffer.from('jpeg-bytes'),
      mimeType: 'image/jpeg',
      filename: 'a.jpg',
    });
    const body = await sendAndRecord({ type: 'image', media: { id } });
    assert.deepEqual(body, expected('send_image_by_id_request.json', { '<IMAGE_OBJECT_ID>': id }));
  });

  test('send_image_by_link_request.json (the spec writes "http(s)://", a real link is used)', async () => {
    const body = await sendAndRecord({ type: 'image', media: { url: 'https://cdn.example.com/a.jpg' } });
    assert.deepEqual(
      body,
      expected('send_image_by_link_request.json', { 'http(s)://image-url': 'https://cdn.example.com/a.jpg' }),
    );
  });

  test('send_document_by_id_request.json', async () => {
    const { id } = await adapter.media!.upload(ch, {
      data: Buffer.from('%PDF-1.4'),
      mimeType: 'application/pdf',
      filename: 'a.pdf',
    });
    const body = await sendAndRecord({
      type: 'document',
      media: { id },
      caption: '<DOCUMENT_CAPTION_TO_SEND>',
      filename: '<DOCUMENT_FILENAME>',
    });
    assert.deepEqual(body, expected('send_document_by_id_request.json', { '<DOCUMENT_OBJECT_ID>': id }));
  });

  test('send_document_by_link_request.json', async () => {
    const body = await sendAndRecord({
      type: 'document',
      media: { url: 'https://cdn.example.com/a.pdf' },
      caption: '<DOCUMENT-CAPTION-TEXT>',
    });
    assert.deepEqual(
      body,
      expected('send_document_by_link_request.json', {
        '<http(s)://document-url>': 'https://cdn.example.com/a.pdf',
      }),
    );
  });

  test('send_reaction_request.json', async () => {
    assert.deepEqual(
      await sendAndRecord({ type: 'reaction', messageId: 'wamid.HBgLM...', emoji: '😀' }),
      expected('send_reaction_request.json'),
    );
  });

  for (const name of ['send_template_text_request.json', 'send_template_media_request.json']) {
    test(name, async () => {
      const want = expected(name);
      const tpl = want.template as { name: string; language: { code: string }; components: unknown[] };
      const body = await sendAndRecord({
        type: 'template',
        name: tpl.name,
        language: tpl.language.code,
        components: tpl.components,
      });
      assert.deepEqual(body, want);
    });
  }

  test('send_interactive_buttons_request.json', async () => {
    const body = await sendAndRecord({
      type: 'interactive',
      interactive: {
        kind: 'buttons',
        body: '<BUTTON_TEXT>',
        buttons: [
          { id: '<UNIQUE_BUTTON_ID_1>', title: '<BUTTON_TITLE_1>' },
          { id: '<UNIQUE_BUTTON_ID_2>', title: '<BUTTON_TITLE_2>' },
        ],
      },
    });
    assert.deepEqual(body, expected('send_interactive_buttons_request.json'));
  });

  test('send_interactive_list_request.json', async () => {
    const rows = (s: number) =>
      [1, 2].map((r) => ({
        id: `<LIST_SECTION_${s}_ROW_${r}_ID>`,
        title: `<SECTION_${s}_ROW_${r}_TITLE>`,
        description: `<SECTION_${s}_ROW_${r}_DESC>`,
      }));
    const body = await sendAndRecord({
      type: 'interactive',
      interactive: {
        kind: 'list',
        header: '<HEADER_TEXT>',
        body: '<BODY_TEXT>',
        footer: '<FOOTER_TEXT>',
        buttonText: '<BUTTON_TEXT>',
        sections: [1, 2].map((s) => ({ title: `<LIST_SECTION_${s}_TITLE>`, rows: rows(s) })),
      },
    });
    assert.deepEqual(body, expected('send_interactive_list_request.json'));
  });

  test('mark_read_with_typing_request.json: markRead sends it without, showTyping with the indicator', async () => {
    const want = fixtureJson<Record<string, unknown>>(F, 'mark_read_with_typing_request.json');
    const messageId = want.message_id as string;
    await adapter.markRead(ch, { providerMessageId: messageId, chat: TO });
    const { typing_indicator: _t, ...plain } = want;
    assert.deepEqual(sim.requests('/messages').at(-1)!.json, plain);
    await adapter.showTyping(ch, { providerMessageId: messageId });
    assert.deepEqual(sim.requests('/messages').at(-1)!.json, want);
    assert.deepEqual(
      sim.reads.map((r) => r.typing),
      [false, true],
    );
  });

  test("mark_read_response.json and send_message_response.json: the simulator answers in Meta's shapes", async () => {
    const post = (body: unknown) =>
      fetch(`${sim.url}/v23.0/${ch.credentials.phoneNumberId}/messages`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ch.credentials.accessToken}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }));
    const read = await post(fixtureJson(F, 'mark_read_with_typing_request.json'));
    assert.deepEqual(read, { status: 200, json: fixtureJson(F, 'mark_read_response.json') });
    const sent = await post({ ...expected('send_text_request.json'), to: '+16505551234' });
    const want = fixtureJson<{ contacts: Record<string, unknown>[]; messages: Record<string, unknown>[] }>(
      F,
      'send_message_response.json',
    );
    assert.equal(sent.status, 200);
    assert.deepEqual(Object.keys(sent.json).sort(), Object.keys(want).sort());
    assert.deepEqual(sent.json.contacts, want.contacts, 'input echoes what was sent, wa_id is the digits');
    const msgs = sent.json.messages as { id: string }[];
    assert.equal(msgs.length, 1);
    assert.match(msgs[0]!.id, /^wamid\.[A-Za-z0-9+/=]+$/);
  });

  test("every other content type is accepted by the simulator and shaped like Meta's", async () => {
    assert.deepEqual(
      (await sendAndRecord({ type: 'location', latitude: 37.48, longitude: -122.14, name: 'Philz' }))
        .location,
      { latitude: 37.48, longitude: -122.14, name: 'Philz' },
    );
    const contacts = await sendAndRecord({
      type: 'contacts',
      contacts: [
        {
          name: { formatted: 'Ana B', first: 'Ana' },
          phones: [{ phone: '+1 415 555 0123', type: 'CELL', waId: '14155550123' }],
          org: { company: 'Acme' },
        },
      ],
    });
    assert.deepEqual(contacts.contacts, [
      {
        name: { formatted_name: 'Ana B', first_name: 'Ana' },
        phones: [{ phone: '+1 415 555 0123', type: 'CELL', wa_id: '14155550123' }],
        org: { company: 'Acme' },
      },
    ]);
    assert.deepEqual(
      (await sendAndRecord({ type: 'video', media: { url: 'https://x.example/v.mp4' }, caption: 'clip' }))
        .video,
      { link: 'https://x.example/v.mp4', caption: 'clip' },
    );
    assert.deepEqual(
      (
        await sendAndRecord({
          type: 'audio',
          media: { url: 'https://x.example/a.ogg' },
          filename: 'ignored.ogg',
        })
      ).audio,
      { link: 'https://x.example/a.ogg' },
    );
    assert.deepEqual(
      (await sendAndRecord({ type: 'sticker', media: { url: 'https://x.example/s.webp' } })).sticker,
      { link: 'https://x.example/s.webp' },
    );
    assert.deepEqual((await sendAndRecord({ type: 'reaction', messageId: 'wamid.X', emoji: '' })).reaction, {
      message_id: 'wamid.X',
      emoji: '',
    });
    assert.deepEqual(
      (await sendAndRecord({ type: 'text', text: 'see https://example.com', previewUrl: true })).text,
      { body: 'see https://example.com', preview_url: true },
    );
    assert.deepEqual(
      (await sendAndRecord({ type: 'template', name: 'hello_world', language: 'en_US' })).template,
      { name: 'hello_world', language: { code: 'en_US' } },
    );
  });
});
