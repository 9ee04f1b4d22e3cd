/** Adapter operations against the simulator over HTTP: recipients, media, templates, connection checks, failure modes. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../../test/support/fixtures.js';
import type { OutboundContent } from '../../core/canonical.js';
import type { ChannelRef } from '../types.js';
import { createCloudApiAdapter } from './adapter.js';
import type { CloudApiCredentials } from './credentials.js';
import { createCloudApiSimulator, type CloudApiSimulator } from './simulator.js';
import { F, deps, rejects, FIXTURE_PHONE } from './test-helpers.js';

const TO = '+16505551234';

describe('cloud-api adapter: recipients', () => {
  let sim: CloudApiSimulator;
  let ch: ChannelRef<CloudApiCredentials>;
  const adapter = createCloudApiAdapter(deps());
  before(async () => {
    sim = createCloudApiSimulator({
      phones: [FIXTURE_PHONE],
    });
    await sim.listen();
    ch = {
      tenantId: 'ten_1',
      channelId: 'chn_1',
      credentials: { ...sim.credentials(), apiVersion: 'v25.0' },
    };
  });
  after(() => sim.close());
  const text = { type: 'text', text: 'hi' } as const;

  test('a BSUID goes in `recipient`, never in `to`', async () => {
    await adapter.send(ch, { to: 'bsuid:US.13491208655302741918', content: text, clientRef: 'msg_1' });
    const body = sim.requests('/messages').at(-1)!.json as Record<string, unknown>;
    assert.equal(body.recipient, 'US.13491208655302741918');
    assert.equal(body.recipient_type, 'individual');
    assert.equal('to' in body, false);
    assert.match(sim.requests('/messages').at(-1)!.path, /^\/v25\.0\//, 'any Graph version is accepted');
  });

  test("a group address is sent as Meta's group id (recipient_type group), the line number looked up once", async () => {
    await adapter.send(ch, { to: '120363222771963067@g.us', content: text, clientRef: 'msg_2' });
    await adapter.send(ch, { to: '120363222771963067@g.us', content: text, clientRef: 'msg_3' });
    const body = sim.requests('/messages').at(-1)!.json as Record<string, unknown>;
    // The id in Meta's own OpenAPI "Group Create Message" example.
    assert.equal(body.to, 'Y2FwaV9ncm91cDoxODA1NTU1MDE3MjoxMjAzNjMyMjI3NzE5NjMwNjcZD');
    assert.equal(body.recipient_type, 'group');
    assert.equal(
      sim.requests().filter((r) => r.method === 'GET' && r.path.endsWith('/106540352242922')).length,
      1,
    );
    await adapter.send(ch, { to: 'Y2FwaV9ncm91cDox@g.us', content: text, clientRef: 'msg_4' });
    assert.equal(
      (sim.requests('/messages').at(-1)!.json as Record<string, unknown>).to,
      'Y2FwaV9ncm91cDox',
      'an opaque group id goes back verbatim',
    );
  });

  test('addresses the Cloud API cannot reach are refused before any request', async () => {
    const n = sim.received.length;
    await rejects(
      adapter.send(ch, { to: '123456789012345@lid', content: text, clientRef: 'msg_5' }),
      'invalid_request',
      false,
    );
    await rejects(
      adapter.send(ch, { to: 'not an address', content: text, clientRef: 'msg_6' }),
      'invalid_request',
      false,
    );
    assert.equal(sim.received.length, n);
  });
});

describe('cloud-api adapter: media, templates, connection', () => {
  let sim: CloudApiSimulator;
  let ch: ChannelRef<CloudApiCredentials>;
  const adapter = createCloudApiAdapter(deps());
  const tplFixture = fixtureJson<{ data: Record<string, unknown>[] }>(
    F,
    'message_templates_list_response.json',
  );
  before(async () => {
    sim = createCloudApiSimulator({
      phones: [
        { phoneNumberId: '106540352242922', wabaId: '419561257915477', verifiedName: 'Acme Support' },
        { phoneNumberId: '222222222222222', wabaId: '333333333333333' },
      ],
      templates: tplFixture.data as never,
      templatePageSize: 1,
    });
    await sim.listen();
    ch = { tenantId: 'ten_1', channelId: 'chn_1', credentials: sim.credentials(0) };
  });
  after(() => sim.close());

  test('upload → retrieve URL → download round-trips bytes; answers match media_upload/retrieve fixtures', async () => {
    const data = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    const { id } = await adapter.media!.upload(ch, { data, mimeType: 'image/jpeg', filename: 'p.jpg' });
    const up = sim.requests('/media').at(-1)!;
    assert.match(up.headers['content-type'] ?? '', /^multipart\/form-data; boundary=/);
    assert.match(id, /^\d+$/);
    assert.deepEqual(Object.keys({ id }), Object.keys(fixtureJson(F, 'media_upload_response.json')));
    const meta = (await (
      await fetch(`${sim.url}/v23.0/${id}`, {
        headers: { authorization: `Bearer ${ch.credentials.accessToken}` },
      })
    ).json()) as Record<string, unknown>;
    assert.deepEqual(
      Object.keys(meta).sort(),
      Object.keys(fixtureJson<Record<string, unknown>>(F, 'media_retrieve_url_response.json')).sort(),
    );
    assert.equal(meta.file_size, String(data.length), 'file_size is a string, as Meta sends it');
    const got = await adapter.media!.download(ch, id);
    assert.deepEqual(got, { data, mimeType: 'image/jpeg' });
    const other = { ...ch, credentials: sim.credentials(1) };
    await rejects(adapter.media!.download(other, id), 'not_found', false);
    await rejects(adapter.media!.download(ch, '999999'), 'not_found', false);
  });

  test('uploads Meta refuses (type, size) are invalid requests', async () => {
    await rejects(
      adapter.media!.upload(ch, { data: Buffer.from('x'), mimeType: 'application/x-msdownload' }),
      'invalid_request',
      false,
    );
    await rejects(
      adapter.media!.upload(ch, { data: Buffer.alloc(600 * 1024), mimeType: 'image/webp' }),
      'invalid_request',
      false,
    );
  });

  test('templates: every page is followed by its cursor (message_templates_list_response.json data)', async () => {
    const before = sim.requests('/message_templates').length;
    const list = await adapter.templates!.list(ch);
    assert.equal(sim.requests('/message_templates').length - before, 2, 'page size 1 → two pages');
    assert.deepEqual(
      list,
      tplFixture.data.map((t) => ({
        id: t.id,
        name: t.name,
        language: t.language,
        status: t.status,
        category: t.category,
        components: t.components,
      })),
    );
    assert.ok(
      sim.requests('/message_templates').at(-1)!.query.after,
      'the second call carried the after cursor',
    );
  });

  test('templates: the fixture answer as is (cursors, no next) is one page, no loop', async () => {
    sim.server.injectFault({
      path: '/message_templates',
      response: { status: 200, json: fixtureJson(F, 'message_templates_list_response.json') },
      times: 5,
    });
    const before = sim.requests('/message_templates').length;
    const list = await adapter.templates!.list(ch);
    sim.server.clearFaults();
    assert.equal(list.length, 2);
    assert.deepEqual(
      list.map((t) => t.name),
      ['hello_world', '2023_april_promo'],
    );
    assert.equal(sim.requests('/message_templates').length - before, 1);
  });

  test('testConnection reads the number; bad, expired and foreign credentials are typed', async () => {
    const ok = await adapter.testConnection(ch);
    assert.equal(ok.ok, true);
    assert.match(ok.detail ?? '', /Acme Support/);
    const bad = await rejects(
      adapter.testConnection({
        ...ch,
        credentials: { ...ch.credentials, accessToken: 'EAAGwrong-token-123' },
      }),
      'unauthorized',
      false,
    );
    assert.equal(bad.providerCode, '190');
    assert.equal(bad.httpStatus, 401);
    sim.setTokenExpired(true);
    const expired = await rejects(
      adapter.send(ch, { to: TO, content: { type: 'text', text: 'x' }, clientRef: 'm' }),
      'unauthorized',
      false,
    );
    assert.match(expired.message, /Session has expired/);
    sim.setTokenExpired(false);
    await rejects(
      adapter.testConnection({ ...ch, credentials: { ...ch.credentials, phoneNumberId: '222222222222222' } }),
      'not_found',
      false,
    );
  });
});

describe('cloud-api adapter: failure modes over HTTP', () => {
  let sim: CloudApiSimulator;
  let ch: ChannelRef<CloudApiCredentials>;
  const adapter = createCloudApiAdapter(deps());
  const send = (content: OutboundContent = { type: 'text', text: 'hello' }, to = TO) =>
    adapter.send(ch, { to, content, clientRef: 'msg_x' });
  before(async () => {
    sim = createCloudApiSimulator({ pairRateLimit: { max: 2, windowMs: 60_000 } });
    await sim.listen();
    ch = { tenantId: 'ten_1', channelId: 'chn_1', credentials: sim.credentials() };
  });
  after(() => sim.close());

  test('429 + 130429 with Retry-After → rate_limited, retryable, wait honoured', async () => {
    sim.server.injectFault({
      path: '/messages',
      response: {
        status: 429,
        json: fixtureJson(F, 'error_130429_throughput.json'),
        headers: { 'retry-after': '2' },
      },
    });
    const e = await rejects(send(), 'rate_limited', true);
    assert.equal(e.retryAfterMs, 2000);
    assert.equal(e.providerCode, '130429');
  });

  test('5xx → unavailable, retryable', async () => {
    sim.server.injectFault({
      path: '/messages',
      response: { status: 500, json: { error: { message: '(#131000) Something went wrong', code: 131000 } } },
    });
    await rejects(send(), 'unavailable', true);
    sim.server.injectFault({ path: '/messages', response: { status: 503, body: 'upstream down' } });
    await rejects(send(), 'unavailable', true);
  });

  test('a hanging Graph → timeout, retryable', async () => {
    sim.server.injectFault({ path: '/messages', hang: true });
    const impatient = createCloudApiAdapter(deps(300));
    const t0 = Date.now();
    await rejects(
      impatient.send(ch, { to: TO, content: { type: 'text', text: 'x' }, clientRef: 'msg_h' }),
      'timeout',
      true,
    );
    assert.ok(Date.now() - t0 < 5000, 'the timeout fired, not the 15 s default');
  });

  test('connection refused → unavailable, retryable', async () => {
    const dead = createCloudApiSimulator();
    await dead.listen();
    const url = dead.url;
    await dead.close();
    await rejects(
      adapter.send(
        { ...ch, credentials: { ...ch.credentials, graphBaseUrl: url } },
        { to: TO, content: { type: 'text', text: 'x' }, clientRef: 'm' },
      ),
      'unavailable',
      true,
    );
  });

  test('pair rate limit (131056) → pair_rate_limited, retryable; other recipients unaffected', async () => {
    const to = '+447700900111';
    await send(undefined, to);
    await send(undefined, to);
    const e = await rejects(send(undefined, to), 'pair_rate_limited', true);
    assert.equal(e.providerCode, '131056');
    await send(undefined, '+447700900222');
  });

  test('content over the limits is refused before any request (validateContent)', async () => {
    const n = sim.received.length;
    const four = [1, 2, 3, 4].map((i) => ({ id: `b${i}`, title: `B${i}` }));
    await rejects(
      send({ type: 'interactive', interactive: { kind: 'buttons', body: 'pick', buttons: four } }),
      'invalid_request',
      false,
    );
    await rejects(send({ type: 'text', text: 'x'.repeat(4097) }), 'invalid_request', false);
    assert.equal(sim.received.length, n);
  });

  test('unknown template → 132001 invalid_request; wrong parameter count → 132000', async () => {
    const e = await rejects(
      send({ type: 'template', name: 'nope', language: 'en_US' }),
      'invalid_request',
      false,
    );
    assert.equal(e.providerCode, '132001');
    sim.addTemplate({
      name: 'promo',
      language: 'en_US',
      components: [{ type: 'BODY', text: 'Hi {{1}}, code {{2}}' }],
    });
    const p = await rejects(
      send({
        type: 'template',
        name: 'promo',
        language: 'en_US',
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }],
      }),
      'invalid_request',
      false,
    );
    assert.equal(p.providerCode, '132000');
    await send({
      type: 'template',
      name: 'promo',
      language: 'en_US',
      components: [
        {
          type: 'body',
          parameters: [
            { type: 'text', text: 'Ana' },
            { type: 'text', text: 'X1' },
          ],
        },
      ],
    });
  });
});
