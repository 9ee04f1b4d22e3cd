import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../../test/support/fixtures.js';
import type { InboundEvent } from '../../core/canonical.js';
import { ProviderError } from '../../core/errors.js';
import { createCloudApiAdapter } from './adapter.js';
import { createCloudApiSimulator, type CloudApiSimulator } from './simulator.js';
import { cloudApiWebhook } from './webhook.js';
import { Receiver, deps, rawOf } from './test-helpers.js';

const A = { phoneNumberId: '106540352242922', wabaId: '419561257915477', accessToken: 'EAAG-token-a' };
const B = { phoneNumberId: '222222222222222', wabaId: '333333333333333', accessToken: 'EAAG-token-b' };

async function post(
  sim: CloudApiSimulator,
  body: unknown,
  opts: { token?: string; version?: string; phone?: string; raw?: string } = {},
) {
  const res = await fetch(`${sim.url}/${opts.version ?? 'v23.0'}/${opts.phone ?? A.phoneNumberId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${opts.token ?? A.accessToken}`, 'content-type': 'application/json' },
    body: opts.raw ?? JSON.stringify(body),
  });
  return {
    status: res.status,
    json: (await res.json()) as {
      error?: { code: number; error_subcode?: number; message: string; error_data?: { details: string } };
    } & Record<string, unknown>,
  };
}

const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: '16505551234' };
const text = (body: string) => ({ ...base, type: 'text', text: { body } });
const buttons = (n: number, title = (i: number) => `B${i}`) => ({
  ...base,
  type: 'interactive',
  interactive: {
    type: 'button',
    body: { text: 'pick' },
    action: {
      buttons: Array.from({ length: n }, (_, i) => ({
        type: 'reply',
        reply: { id: `id${i}`, title: title(i) },
      })),
    },
  },
});
const list = (rows: number, sections = 1, titles = true) => ({
  ...base,
  type: 'interactive',
  interactive: {
    type: 'list',
    body: { text: 'choose' },
    action: {
      button: 'Options',
      sections: Array.from({ length: sections }, (_, s) => ({
        ...(titles || s === 0 ? { title: `S${s}` } : {}),
        rows: Array.from({ length: rows }, (_, r) => ({ id: `r${s}-${r}`, title: `Row ${r}` })),
      })),
    },
  },
});

describe('cloud-api simulator: rejects what Meta rejects', () => {
  let sim: CloudApiSimulator;
  before(async () => {
    sim = createCloudApiSimulator({ phones: [A, B] });
    await sim.listen();
  });
  after(() => sim.close());

  test("bearer token: missing or unknown → 401/190, expired → 401/190/463, another line's → 400/100/33", async () => {
    const none = await fetch(`${sim.url}/v23.0/${A.phoneNumberId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(text('x')),
    });
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: { code: number } }).error.code, 190);
    const wrong = await post(sim, text('x'), { token: 'EAAG-nope' });
    assert.deepEqual([wrong.status, wrong.json.error?.code], [401, 190]);
    sim.setTokenExpired(true, A.phoneNumberId);
    const expired = await post(sim, text('x'));
    assert.deepEqual(
      [expired.status, expired.json.error?.code, expired.json.error?.error_subcode],
      [401, 190, 463],
    );
    assert.deepEqual(
      Object.keys(expired.json.error!).sort(),
      Object.keys(
        fixtureJson<{ error: object }>('whatsapp-cloud', 'error_190_token_expired.json').error,
      ).sort(),
    );
    const otherStillWorks = await post(sim, text('x'), { token: B.accessToken, phone: B.phoneNumberId });
    assert.equal(otherStillWorks.status, 200);
    sim.setTokenExpired(false);
    const foreign = await post(sim, text('x'), { token: B.accessToken });
    assert.deepEqual(
      [foreign.status, foreign.json.error?.code, foreign.json.error?.error_subcode],
      [400, 100, 33],
    );
  });

  test('any vN.M version prefix is served, anything else is not', async () => {
    assert.equal((await post(sim, text('x'), { version: 'v25.0' })).status, 200);
    assert.equal((await post(sim, text('x'), { version: 'v19.0' })).status, 200);
    assert.equal((await post(sim, text('x'), { version: 'latest' })).status, 400);
    assert.equal((await post(sim, text('x'), { version: 'v23' })).status, 400);
  });

  const bad: [string, unknown, number, number][] = [
    ['empty body', {}, 400, 100],
    ['wrong messaging_product', { ...text('x'), messaging_product: 'sms' }, 400, 100],
    ['no recipient', { messaging_product: 'whatsapp', type: 'text', text: { body: 'x' } }, 400, 100],
    ['to is not a number', { ...text('x'), to: 'abc' }, 400, 100],
    ['to too short', { ...text('x'), to: '123' }, 400, 100],
    ['bad recipient_type', { ...text('x'), recipient_type: 'broadcast' }, 400, 100],
    ['unknown type', { ...base, type: 'poll', poll: {} }, 400, 100],
    ['type without its object', { ...base, type: 'image', text: { body: 'x' } }, 400, 100],
    ['empty text', text(''), 400, 100],
    ['text over 4096', text('x'.repeat(4097)), 400, 131009],
    ['preview_url not boolean', { ...base, type: 'text', text: { body: 'x', preview_url: 'yes' } }, 400, 100],
    [
      'media with id and link',
      { ...base, type: 'image', image: { id: '1', link: 'https://x.example/a.jpg' } },
      400,
      100,
    ],
    ['unknown media id', { ...base, type: 'image', image: { id: '4490709327384033' } }, 400, 100],
    [
      'link is not http(s)',
      { ...base, type: 'image', image: { link: 'ftp://x.example/a.jpg' } },
      400,
      131009,
    ],
    [
      'caption on audio',
      { ...base, type: 'audio', audio: { link: 'https://x.example/a.ogg', caption: 'c' } },
      400,
      100,
    ],
    [
      'filename on image',
      { ...base, type: 'image', image: { link: 'https://x.example/a.jpg', filename: 'a.jpg' } },
      400,
      100,
    ],
    [
      'caption over 1024',
      { ...base, type: 'image', image: { link: 'https://x.example/a.jpg', caption: 'c'.repeat(1025) } },
      400,
      131009,
    ],
    ['4 buttons', buttons(4), 400, 131009],
    ['0 buttons', buttons(0), 400, 131009],
    ['button title over 20', buttons(2, (i) => `${'T'.repeat(20)}${i}`), 400, 131009],
    ['duplicate button titles', buttons(2, () => 'Same'), 400, 131009],
    ['11 list rows', list(11), 400, 131009],
    ['6+6 rows over two sections', list(6, 2), 400, 131009],
    ['second section without title', list(2, 2, false), 400, 100],
    ['11 sections', list(1, 11), 400, 131009],
    [
      'list button over 20',
      {
        ...list(1),
        interactive: {
          ...list(1).interactive,
          action: { ...list(1).interactive.action, button: 'B'.repeat(21) },
        },
      },
      400,
      131009,
    ],
    [
      'interactive body over 1024',
      { ...buttons(1), interactive: { ...buttons(1).interactive, body: { text: 'b'.repeat(1025) } } },
      400,
      131009,
    ],
    ['latitude 91', { ...base, type: 'location', location: { latitude: 91, longitude: 0 } }, 400, 131009],
    ['no contacts', { ...base, type: 'contacts', contacts: [] }, 400, 100],
    [
      'contact without formatted_name',
      { ...base, type: 'contacts', contacts: [{ name: { first_name: 'A' } }] },
      400,
      100,
    ],
    ['reaction without message_id', { ...base, type: 'reaction', reaction: { emoji: '👍' } }, 400, 100],
    ['template without language', { ...base, type: 'template', template: { name: 'hello_world' } }, 400, 100],
    [
      'unknown template',
      { ...base, type: 'template', template: { name: 'nope', language: { code: 'en_US' } } },
      404,
      132001,
    ],
    ['context without message_id', { ...text('x'), context: {} }, 400, 100],
    [
      'biz_opaque_callback_data over 512 bytes',
      { ...text('x'), biz_opaque_callback_data: 'é'.repeat(257) },
      400,
      131009,
    ],
    [
      'mark read of a non-wamid',
      { messaging_product: 'whatsapp', status: 'read', message_id: '123' },
      400,
      100,
    ],
    [
      'mark read with another status',
      { messaging_product: 'whatsapp', status: 'delivered', message_id: 'wamid.X' },
      400,
      100,
    ],
  ];
  for (const [name, body, status, code] of bad) {
    test(`rejects: ${name} → ${status} (#${code})`, async () => {
      const before = sim.sent.length;
      const r = await post(sim, body);
      assert.equal(r.status, status, JSON.stringify(r.json));
      assert.equal(r.json.error?.code, code);
      assert.match(r.json.error?.message ?? '', new RegExp(`^\\(#${code}\\)`));
      assert.equal(sim.sent.length, before, 'nothing was accepted');
    });
  }

  test('rejects a body that is not JSON', async () => {
    const r = await post(sim, undefined, { raw: 'messaging_product=whatsapp' });
    assert.deepEqual([r.status, r.json.error?.code], [400, 100]);
  });

  test("accepts the limits themselves and Meta's defaults", async () => {
    for (const body of [
      text('x'.repeat(4096)),
      buttons(3, (i) => `${'T'.repeat(19)}${i}`),
      list(10),
      list(5, 2),
      {
        messaging_product: 'whatsapp',
        to: '+1 (650) 555-1234',
        text: { body: 'no type: text is the default' },
      },
      { ...base, type: 'reaction', reaction: { message_id: 'wamid.X', emoji: '' } },
    ]) {
      const r = await post(sim, body);
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
  });

  test('unknown paths answer a Graph error, not an HTML 404', async () => {
    const r = await fetch(`${sim.url}/v23.0/${A.phoneNumberId}/nothing`, {
      headers: { authorization: `Bearer ${A.accessToken}` },
    });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { error: { code: number } }).error.code, 100);
  });

  test('media download needs the bearer token', async () => {
    const file = sim.media.put(A.phoneNumberId, Buffer.from('bytes'), 'image/png');
    const url = sim.media.describe(file.id)!.url as string;
    assert.equal((await fetch(url)).status, 401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${A.accessToken}` } });
    assert.equal(ok.status, 200);
    assert.equal(Buffer.from(await ok.arrayBuffer()).toString(), 'bytes');
    assert.equal(
      (
        await fetch(url.replace(/hash=[^&]+/, 'hash=forged'), {
          headers: { authorization: `Bearer ${A.accessToken}` },
        })
      ).status,
      404,
    );
  });
});

describe('cloud-api simulator: webhooks', () => {
  let sim: CloudApiSimulator;
  const rx = new Receiver();
  const adapter = createCloudApiAdapter(deps());
  before(async () => {
    await rx.listen();
    sim = createCloudApiSimulator({
      phones: [A, B],
      webhookUrl: rx.url,
      asyncFailures: { '16505550000': 131026 },
    });
    await sim.listen();
  });
  after(async () => {
    await sim.close();
    await rx.close();
  });

  function received(i: number): InboundEvent[] {
    const hit = rx.hits[i]!;
    const raw = rawOf(hit.body, hit.headers);
    assert.equal(cloudApiWebhook.verify(raw, sim.credentials()), true, 'signed with the app secret');
    assert.equal(
      cloudApiWebhook.verify(raw, { ...sim.credentials(), appSecret: 'another-app-secret' }),
      false,
    );
    const r = cloudApiWebhook.parse(raw);
    assert.ok(r.ok, 'the webhook parses');
    return r.events;
  }

  test('status webhooks are off by default', async () => {
    await adapter.send(
      { tenantId: 't', channelId: 'c', credentials: sim.credentials() },
      { to: '+16505551234', content: { type: 'text', text: 'x' }, clientRef: 'msg_a' },
    );
    await sim.idle();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(rx.hits.length, 0);
  });

  test('when on: sent → delivered → read, signed, parseable, echoing biz_opaque_callback_data', async () => {
    sim.statusWebhooks = true;
    const { providerMessageId } = await adapter.send(
      { tenantId: 't', channelId: 'c', credentials: sim.credentials() },
      { to: '+16505551234', content: { type: 'text', text: 'x' }, clientRef: 'msg_b' },
    );
    await rx.waitFor(3);
    const events = [0, 1, 2].flatMap(received);
    assert.deepEqual(
      events.map((e) =>
        e.kind === 'message.status' ? [e.status, e.providerMessageId, e.recipient, e.externalId] : [],
      ),
      [
        ['sent', providerMessageId, '+16505551234', A.phoneNumberId],
        ['delivered', providerMessageId, '+16505551234', A.phoneNumberId],
        ['read', providerMessageId, '+16505551234', A.phoneNumberId],
      ],
    );
    assert.match(rx.hits[0]!.body.toString(), /"biz_opaque_callback_data":"msg_b"/);
    sim.statusWebhooks = false;
    rx.hits.length = 0;
  });

  test('async failure: 200 with a wamid, then a failed status (131026, then 131047 via failAsync)', async () => {
    const ch = { tenantId: 't', channelId: 'c', credentials: sim.credentials() };
    const first = await adapter.send(ch, {
      to: '+16505550000',
      content: { type: 'text', text: 'x' },
      clientRef: 'msg_c',
    });
    sim.failAsync('+16505550001', 131047);
    const second = await adapter.send(ch, {
      to: '+16505550001',
      content: { type: 'text', text: 'x' },
      clientRef: 'msg_d',
    });
    await rx.waitFor(2);
    const events = [0, 1].flatMap(received) as Extract<InboundEvent, { kind: 'message.status' }>[];
    const byId = new Map(events.map((e) => [e.providerMessageId, e]));
    assert.equal(byId.get(first.providerMessageId)?.status, 'failed');
    assert.equal(byId.get(first.providerMessageId)?.error?.code, '131026');
    assert.equal(byId.get(second.providerMessageId)?.error?.code, '131047');
    assert.equal(byId.get(second.providerMessageId)?.error?.title, 'Re-engagement message');
    rx.hits.length = 0;
  });

  test('sendInbound: one signed, batched POST across WABAs, lines, BSUID users and groups', async () => {
    const r = await sim.sendInbound([
      { text: 'one', name: 'Sheena' },
      { text: 'two', name: 'Sheena' },
      { phoneNumberId: B.phoneNumberId, userId: 'US.13491208655302741918', name: 'Ana', text: 'no phone' },
      {
        from: '919999911111',
        groupId: 'Y2FwaV9ncm91cDoxODA1NTU1MDE3MjoxMjAzNjMyMjI3NzE5NjMwNjcZD',
        text: 'in group',
      },
      { type: 'image', body: { id: '1003383421387256', mime_type: 'image/jpeg', sha256: 'x' } },
    ]);
    assert.equal(r.status, 200);
    assert.equal(rx.hits.length, 1);
    const payload = JSON.parse(r.body) as { entry: { changes: { value: { messages: unknown[] } }[] }[] };
    assert.equal(payload.entry.length, 2, 'one entry per WABA');
    assert.equal(
      payload.entry[0]!.changes[0]!.value.messages.length,
      4,
      'messages of one line share a change',
    );
    const events = received(0) as Extract<InboundEvent, { kind: 'message.received' }>[];
    assert.deepEqual(events.map((e) => e.providerMessageId).sort(), [...r.ids].sort());
    assert.deepEqual(
      events.map((e) => [e.externalId, e.chat, e.from, e.profileName ?? null, e.content.type]),
      [
        [A.phoneNumberId, '+16505551234', '+16505551234', 'Sheena', 'text'],
        [A.phoneNumberId, '+16505551234', '+16505551234', 'Sheena', 'text'],
        [A.phoneNumberId, '120363222771963067@g.us', '+919999911111', 'Sim User', 'text'],
        [A.phoneNumberId, '+16505551234', '+16505551234', 'Sheena', 'image'],
        [B.phoneNumberId, 'bsuid:US.13491208655302741918', 'bsuid:US.13491208655302741918', 'Ana', 'text'],
      ],
    );
    assert.deepEqual(
      cloudApiWebhook.routingKeys(rawOf(rx.hits[0]!.body)).sort(),
      [A.phoneNumberId, B.phoneNumberId].sort(),
    );
    rx.hits.length = 0;
  });

  test('sendInbound: split changes, bad or missing signatures are what the receiver gets', async () => {
    const split = await sim.sendInbound([{ text: 'a' }, { text: 'b' }], { splitChanges: true });
    assert.equal((JSON.parse(split.body) as { entry: { changes: unknown[] }[] }).entry[0]!.changes.length, 2);
    await sim.sendInbound({ text: 'c' }, { signature: 'invalid' });
    await sim.sendInbound({ text: 'd' }, { signature: 'none' });
    const creds = sim.credentials();
    assert.equal(cloudApiWebhook.verify(rawOf(rx.hits[0]!.body, rx.hits[0]!.headers), creds), true);
    assert.equal(cloudApiWebhook.verify(rawOf(rx.hits[1]!.body, rx.hits[1]!.headers), creds), false);
    assert.equal(rx.hits[2]!.headers['x-hub-signature-256'], undefined);
    assert.equal(cloudApiWebhook.verify(rawOf(rx.hits[2]!.body, rx.hits[2]!.headers), creds), false);
    rx.hits.length = 0;
  });
});

describe('cloud-api simulator: throughput', () => {
  // A frozen clock makes every request land in the same second however slowly a loaded machine
  // delivers them, so the counts are exact.
  test('per-number limit: a burst beyond it gets 130429 / HTTP 429 with Retry-After; other numbers unaffected', async () => {
    let now = 1_750_000_000_000;
    const sim = createCloudApiSimulator({
      phones: [A, B],
      throughputPerSecond: 20,
      throughputRetryAfterSeconds: 1,
      now: () => now,
    });
    await sim.listen();
    try {
      const adapter = createCloudApiAdapter(deps());
      const ch = { tenantId: 't', channelId: 'c', credentials: sim.credentials(0) };
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) =>
          adapter.send(ch, {
            to: `+1650555${String(1000 + i)}`,
            content: { type: 'text', text: 'x' },
            clientRef: `m${i}`,
          }),
        ),
      );
      const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ProviderError] : []));
      assert.equal(results.length - rejected.length, 20, 'exactly the limit is accepted');
      assert.equal(rejected.length, 10);
      for (const e of rejected) {
        assert.equal(e.kind, 'rate_limited');
        assert.equal(e.retryable, true);
        assert.equal(e.httpStatus, 429);
        assert.equal(e.providerCode, '130429');
        assert.equal(e.retryAfterMs, 1000);
      }
      assert.equal(sim.maxMessagesPerSecond(A.phoneNumberId), 20);
      assert.equal(sim.throttled, 10);
      // The other number has its own budget.
      await adapter.send(
        { ...ch, credentials: sim.credentials(1) },
        { to: '+16505551234', content: { type: 'text', text: 'x' }, clientRef: 'other' },
      );
      assert.equal(sim.maxMessagesPerSecond(B.phoneNumberId), 1);
      // A second later the window has moved on.
      now += 1000;
      await adapter.send(ch, {
        to: '+16505551234',
        content: { type: 'text', text: 'x' },
        clientRef: 'later',
      });
      assert.equal(sim.maxMessagesPerSecond(A.phoneNumberId), 20);
    } finally {
      await sim.close();
    }
  });

  test("default is Meta's 80 messages/s", async () => {
    const sim = createCloudApiSimulator({ now: () => 1_750_000_000_000 });
    await sim.listen();
    try {
      const phone = sim.phones[0]!;
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          post(sim, text('x'), { token: phone.accessToken, phone: phone.phoneNumberId }),
        ),
      );
      assert.equal(results.filter((r) => r.status === 200).length, 80);
      const throttled = results.filter((r) => r.status !== 200);
      assert.equal(throttled.length, 20);
      for (const r of throttled) assert.deepEqual([r.status, r.json.error?.code], [429, 130429]);
      assert.equal(sim.maxMessagesPerSecond(), 80);
    } finally {
      await sim.close();
    }
  });

  test('a live burst never exceeds the limit in any real one-second window', async () => {
    const sim = createCloudApiSimulator({ throughputPerSecond: 15 });
    await sim.listen();
    try {
      const phone = sim.phones[0]!;
      const results = await Promise.all(
        Array.from({ length: 40 }, () =>
          post(sim, text('x'), { token: phone.accessToken, phone: phone.phoneNumberId }),
        ),
      );
      assert.ok(sim.maxMessagesPerSecond() <= 15, `max ${sim.maxMessagesPerSecond()} per second`);
      assert.equal(results.filter((r) => r.status === 200).length, sim.sent.length, 'every 200 was recorded');
    } finally {
      await sim.close();
    }
  });

  test('maxMessagesPerSecond counts the busiest one-second window', () => {
    const sim = createCloudApiSimulator();
    const at = (t: number) =>
      sim.sent.push({
        phoneNumberId: sim.phones[0]!.phoneNumberId,
        wamid: `w${t}`,
        type: 'text',
        recipient: {},
        body: {},
        at: t,
      });
    [0, 100, 999, 1000, 1500, 1600, 1700, 1999, 5000].forEach(at);
    // Window [1000, 1999] holds 5; [0, 999] holds 3.
    assert.equal(sim.maxMessagesPerSecond(), 5);
    assert.equal(sim.maxMessagesPerSecond('nobody'), 0);
  });
});
