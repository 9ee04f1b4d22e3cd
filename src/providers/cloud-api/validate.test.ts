import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Value } from '@sinclair/typebox/value';
import type { OutboundContent } from '../../core/canonical.js';
import { decodeGroupId, encodeGroupId, groupAddress, phoneAddress, toCloudRecipient } from './addressing.js';
import { buildMessageBody } from './body.js';
import { CloudApiCredentialsSchema, cloudApiCredentialFields, graphBase } from './credentials.js';
import { cloudApiProvider } from './index.js';
import { validateSendBody } from './sim-validate.js';
import { validateContent } from './validate.js';

const ok: OutboundContent[] = [
  { type: 'text', text: 'hi' },
  { type: 'image', media: { url: 'https://x.example/a.jpg' }, caption: 'c' },
  { type: 'document', media: { id: '123' }, filename: 'a.pdf' },
  { type: 'sticker', media: { id: '123' } },
  { type: 'location', latitude: -33.9, longitude: 151.2 },
  { type: 'contacts', contacts: [{ name: { formatted: 'Ana' } }] },
  { type: 'reaction', messageId: 'wamid.X', emoji: '👍🏽' },
  { type: 'reaction', messageId: 'wamid.X', emoji: '' },
  { type: 'reaction', messageId: 'wamid.X', emoji: '1️⃣' },
  { type: 'template', name: 'hello_world', language: 'en_US' },
  { type: 'interactive', interactive: { kind: 'buttons', body: 'b', buttons: [{ id: '1', title: 'Yes' }] } },
  {
    type: 'interactive',
    interactive: {
      kind: 'list',
      body: 'b',
      buttonText: 'Menu',
      sections: [{ rows: [{ id: '1', title: 'One' }] }],
    },
  },
];

const bad: [string, OutboundContent, RegExp][] = [
  ['empty text', { type: 'text', text: ' ' }, /text is required/],
  ['long text', { type: 'text', text: 'x'.repeat(4097) }, /longer than 4096/],
  ['media without url or id', { type: 'image', media: {} as never }, /url or an id/],
  ['non-http link', { type: 'image', media: { url: 'file:///etc/passwd' } }, /http\(s\) URL/],
  ['caption on audio', { type: 'audio', media: { id: '1' }, caption: 'c' }, /cannot have a caption/],
  ['latitude', { type: 'location', latitude: 95, longitude: 0 }, /latitude/],
  ['no contacts', { type: 'contacts', contacts: [] }, /at least one contact/],
  ['letters as emoji', { type: 'reaction', messageId: 'w', emoji: 'ok' }, /single emoji/],
  ['digit as emoji', { type: 'reaction', messageId: 'w', emoji: '1' }, /single emoji/],
  ['template without language', { type: 'template', name: 't', language: '' }, /language is required/],
  [
    '4 buttons',
    {
      type: 'interactive',
      interactive: {
        kind: 'buttons',
        body: 'b',
        buttons: [1, 2, 3, 4].map((i) => ({ id: `${i}`, title: `${i}` })),
      },
    },
    /1 to 3/,
  ],
  [
    'button title 21',
    {
      type: 'interactive',
      interactive: { kind: 'buttons', body: 'b', buttons: [{ id: '1', title: 'x'.repeat(21) }] },
    },
    /longer than 20/,
  ],
  [
    'duplicate button ids',
    {
      type: 'interactive',
      interactive: {
        kind: 'buttons',
        body: 'b',
        buttons: [
          { id: '1', title: 'a' },
          { id: '1', title: 'b' },
        ],
      },
    },
    /ids must be unique/,
  ],
  [
    'header 61',
    {
      type: 'interactive',
      interactive: { kind: 'buttons', header: 'h'.repeat(61), body: 'b', buttons: [{ id: '1', title: 'a' }] },
    },
    /header is longer than 60/,
  ],
  [
    '11 rows',
    {
      type: 'interactive',
      interactive: {
        kind: 'list',
        body: 'b',
        buttonText: 'M',
        sections: [{ rows: Array.from({ length: 11 }, (_, i) => ({ id: `${i}`, title: `${i}` })) }],
      },
    },
    /at most 10 rows/,
  ],
  [
    'untitled second section',
    {
      type: 'interactive',
      interactive: {
        kind: 'list',
        body: 'b',
        buttonText: 'M',
        sections: [{ title: 'A', rows: [{ id: '1', title: '1' }] }, { rows: [{ id: '2', title: '2' }] }],
      },
    },
    /sections\[1\]\.title is required/,
  ],
  [
    'row description 73',
    {
      type: 'interactive',
      interactive: {
        kind: 'list',
        body: 'b',
        buttonText: 'M',
        sections: [{ rows: [{ id: '1', title: '1', description: 'd'.repeat(73) }] }],
      },
    },
    /longer than 72/,
  ],
  [
    'list button 21',
    {
      type: 'interactive',
      interactive: {
        kind: 'list',
        body: 'b',
        buttonText: 'M'.repeat(21),
        sections: [{ rows: [{ id: '1', title: '1' }] }],
      },
    },
    /buttonText is longer than 20/,
  ],
];

describe('cloud-api validateContent', () => {
  test('valid content of every type has no problems', () => {
    for (const c of ok) assert.deepEqual(validateContent(c), [], JSON.stringify(c));
  });
  for (const [name, c, re] of bad) {
    test(`problem: ${name}`, () => {
      const problems = validateContent(c);
      assert.ok(
        problems.some((p) => re.test(p)),
        problems.join(' | ') || 'no problems reported',
      );
    });
  }

  // The adapter's early check and the simulator's Meta-like check share one limits table: for the
  // generated text / buttons / lists, one accepts exactly when the other does.
  const env = { mediaKnown: () => true, template: () => undefined };
  const agree = (c: OutboundContent) => {
    const early = validateContent(c).length === 0;
    const meta =
      validateSendBody(buildMessageBody({ recipient_type: 'individual', to: '16505551234' }, c), env) ===
      undefined;
    assert.equal(early, meta, `${JSON.stringify(c).slice(0, 200)}: adapter ${early}, simulator ${meta}`);
  };
  const title = (max: number) =>
    fc
      .string({ minLength: 1, maxLength: max + 2, unit: 'grapheme-ascii' })
      .filter((s) => s.trim().length > 0);

  test('the simulator refuses what Graph refuses beyond the adapter: an unknown interactive type, a reaction with a reply context', () => {
    const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: '16505551234' };
    const unknown = validateSendBody({ ...base, type: 'interactive', interactive: { type: 'bogus', body: { text: 'b' }, action: {} } }, env);
    assert.match(String(unknown?.details), /interactive\['type'\] must be one of/);
    const cta = validateSendBody({ ...base, type: 'interactive', interactive: { type: 'cta_url', body: { text: 'b' }, action: { name: 'cta_url', parameters: { display_text: 'Go', url: 'https://x.example' } } } }, env);
    assert.equal(cta, undefined);
    const reaction = { ...base, type: 'reaction', reaction: { message_id: 'wamid.X', emoji: '👍' } };
    assert.equal(validateSendBody(reaction, env), undefined);
    assert.match(String(validateSendBody({ ...reaction, context: { message_id: 'wamid.Y' } }, env)?.details), /context is not supported/);
  });

  test('adapter and simulator agree on text limits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4200 }), (n) => agree({ type: 'text', text: 'x'.repeat(n) })),
      { numRuns: 200 },
    );
  });

  test('adapter and simulator agree on reply buttons', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id: title(10), title: title(20) }), {
          minLength: 0,
          maxLength: 4,
          selector: (b) => b.id,
        }),
        title(1024),
        (buttons, body) => {
          agree({ type: 'interactive', interactive: { kind: 'buttons', body, buttons } });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('adapter and simulator agree on lists', () => {
    const row = fc.record({
      id: title(12),
      title: title(24),
      description: fc.option(title(72), { nil: undefined }),
    });
    const section = fc.record({
      title: fc.option(title(24), { nil: undefined }),
      rows: fc.uniqueArray(row, { minLength: 1, maxLength: 6, selector: (r) => r.id }),
    });
    fc.assert(
      fc.property(fc.array(section, { minLength: 1, maxLength: 3 }), title(20), (sections, buttonText) => {
        const ids = sections.flatMap((s) => s.rows.map((r) => r.id));
        fc.pre(new Set(ids).size === ids.length); // Meta's row-id uniqueness is not in the simulator
        agree({ type: 'interactive', interactive: { kind: 'list', body: 'b', buttonText, sections } });
      }),
      { numRuns: 300 },
    );
  });
});

describe('cloud-api addressing', () => {
  test("group ids: Meta's example decodes to the WhatsApp group and encodes back", () => {
    const meta = 'Y2FwaV9ncm91cDoxODA1NTU1MDE3MjoxMjAzNjMyMjI3NzE5NjMwNjcZD';
    assert.equal(decodeGroupId(meta), '120363222771963067');
    assert.equal(encodeGroupId('18055550172', '120363222771963067'), meta);
    assert.equal(groupAddress(meta), '120363222771963067@g.us');
    assert.equal(decodeGroupId('Y2FwaV9ncm91cDox'), undefined);
    fc.assert(
      fc.property(fc.stringMatching(/^[1-9]\d{9,13}$/), fc.stringMatching(/^1203\d{14}$/), (num, gid) => {
        assert.equal(decodeGroupId(encodeGroupId(num, gid)), gid);
      }),
    );
  });

  test('recipients', () => {
    assert.deepEqual(toCloudRecipient('+16505551234'), { kind: 'individual', to: '16505551234' });
    assert.deepEqual(toCloudRecipient('16505551234@c.us'), { kind: 'individual', to: '16505551234' });
    assert.deepEqual(toCloudRecipient('bsuid:US.13491208655302741918'), {
      kind: 'bsuid',
      recipient: 'US.13491208655302741918',
    });
    assert.deepEqual(toCloudRecipient('120363222771963067@g.us'), {
      kind: 'group',
      groupId: '120363222771963067',
    });
    assert.deepEqual(toCloudRecipient('Y2FwaV9ncm91cDox@g.us'), {
      kind: 'group',
      opaque: 'Y2FwaV9ncm91cDox',
    });
    assert.equal(toCloudRecipient('123456789012345@lid'), undefined);
    assert.equal(toCloudRecipient('hello'), undefined);
    assert.equal(phoneAddress('16505551234'), '+16505551234');
    assert.equal(phoneAddress('000'), '+000', 'a number libphonenumber rejects is kept, not dropped');
  });
});

describe('cloud-api credentials and provider definition', () => {
  const good = {
    phoneNumberId: '106540352242922',
    wabaId: '419561257915477',
    accessToken: 'EAAG0123456789',
    appSecret: '0123456789abcdef',
    verifyToken: 'verify-me',
  };

  test('schema accepts real-looking credentials and rejects broken ones', () => {
    assert.equal(Value.Check(CloudApiCredentialsSchema, good), true);
    assert.equal(
      Value.Check(CloudApiCredentialsSchema, {
        ...good,
        apiVersion: 'v24.0',
        graphBaseUrl: 'http://127.0.0.1:9999',
      }),
      true,
    );
    for (const broken of [
      { ...good, phoneNumberId: '+1 650 555 1234' },
      { ...good, accessToken: '' },
      { ...good, apiVersion: '23' },
      { ...good, graphBaseUrl: 'ftp://x' },
      { ...good, extra: 1 },
      (({ appSecret: _a, ...rest }) => rest)(good),
    ]) {
      assert.equal(Value.Check(CloudApiCredentialsSchema, broken), false, JSON.stringify(broken));
    }
  });

  test('field metadata covers the schema, secrets are marked', () => {
    const props = Object.keys(
      (CloudApiCredentialsSchema as unknown as { properties: object }).properties,
    ).sort();
    assert.deepEqual(cloudApiCredentialFields.map((f) => f.name).sort(), props);
    assert.deepEqual(
      cloudApiCredentialFields
        .filter((f) => f.secret)
        .map((f) => f.name)
        .sort(),
      ['accessToken', 'appSecret', 'verifyToken'],
    );
    for (const f of cloudApiCredentialFields) assert.equal(f.secret, f.kind === 'password', f.name);
  });

  test('definition: id, external id, defaults', () => {
    assert.equal(cloudApiProvider.id, 'cloud-api');
    assert.equal(cloudApiProvider.credentials.externalId(good), '106540352242922');
    assert.equal(graphBase(good), 'https://graph.facebook.com/v23.0');
    assert.equal(
      graphBase({ ...good, graphBaseUrl: 'http://127.0.0.1:1/', apiVersion: 'v25.0' }),
      'http://127.0.0.1:1/v25.0',
    );
    assert.deepEqual([...cloudApiProvider.capabilities.content].sort(), [
      'audio',
      'contacts',
      'document',
      'image',
      'interactive',
      'location',
      'reaction',
      'sticker',
      'template',
      'text',
      'video',
    ]);
    assert.equal(cloudApiProvider.rateDefaults.perSecond, 80);
    const adapter = cloudApiProvider.createAdapter({
      fetch,
      logger: {
        debug() {},
        info() {},
        warn() {},
        error() {},
        child() {
          return this;
        },
      },
      clock: { now: () => new Date(), sleep: async () => {} },
    });
    assert.ok(
      adapter.media && adapter.templates && adapter.markRead,
      'media, templates and markRead are offered',
    );
    assert.equal(adapter.session, undefined);
  });
});
