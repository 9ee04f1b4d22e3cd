import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../../test/support/fixtures.js';
import { SimServer } from '../simulator-kit.js';
import { createWahaSimulator } from './simulator.js';
import { API_KEY, events, HMAC_KEY, world, type World } from './test-support.js';
import { wahaWebhook } from './webhook.js';

/** The simulator must refuse what WAHA refuses, with WAHA's own bodies. */

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = { 'x-api-key': API_KEY }) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

describe('WAHA simulator rejects like WAHA', () => {
  let w: World;
  // A slow STARTING phase so a test can catch the session in it.
  before(async () => (w = await world({ startDelayMs: 150 })));
  after(() => w.close());

  test('API key: missing or wrong → the documented 401 body; header or ?x-api-key= accepted', async () => {
    const doc = fixtureJson('waha', 'error_unauthorized_401.json');
    assert.deepEqual(await call(w.sim.url, 'GET', '/api/sessions', undefined, {}), { status: 401, json: doc, text: JSON.stringify(doc) });
    assert.equal((await call(w.sim.url, 'GET', '/api/sessions', undefined, { 'x-api-key': 'nope' })).status, 401);
    assert.equal((await call(w.sim.url, 'POST', '/api/sendText', { session: 'line_one', chatId: '31687654321@c.us', text: 'x' }, {})).status, 401);
    assert.equal((await call(w.sim.url, 'GET', `/api/sessions?x-api-key=${API_KEY}`, undefined, {})).status, 200);
  });

  test('ping_response.json', async () => {
    assert.deepEqual((await call(w.sim.url, 'GET', '/ping')).json, fixtureJson('waha', 'ping_response.json'));
  });

  test('send validation: required session / chatId / text, chat id format, file, list, contacts → 400 NestJS list', async () => {
    const bad = async (path: string, body: unknown, expect: RegExp) => {
      const r = await call(w.sim.url, 'POST', path, body);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}`);
      const j = r.json as { statusCode: number; message: string[]; error: string };
      assert.equal(j.statusCode, 400);
      assert.equal(j.error, 'Bad Request');
      assert.ok(j.message.some((m) => expect.test(m)), `${path}: ${j.message.join(' | ')}`);
    };
    await bad('/api/sendText', { chatId: '31687654321@c.us', text: 'x' }, /^session must be a string$/);
    await bad('/api/sendText', { session: 'line_one', text: 'x' }, /^chatId must be a string$/);
    await bad('/api/sendText', { session: 'line_one', chatId: '31687654321@c.us' }, /^text must be a string$/);
    await bad('/api/sendText', { session: 'line_one', chatId: '+31687654321', text: 'x' }, /^chatId must be a WhatsApp chat id/);
    await bad('/api/sendText', { session: 'line_one', chatId: '31687654321@c.us', text: 'x', linkPreview: 'yes' }, /linkPreview must be a boolean/);
    await bad('/api/sendImage', { session: 'line_one', chatId: '31687654321@c.us' }, /^file must be an object$/);
    await bad('/api/sendImage', { session: 'line_one', chatId: '31687654321@c.us', file: { url: 'https://x.test/a.jpg' } }, /file\.mimetype/);
    await bad('/api/sendFile', { session: 'line_one', chatId: '31687654321@c.us', file: { mimetype: 'application/pdf', url: 'not a url' } }, /file\.url must be a URL/);
    await bad('/api/sendVideo', { session: 'line_one', chatId: '31687654321@c.us', file: { mimetype: 'video/mp4', url: 'https://x.test/v.mp4' } }, /file\.filename/);
    await bad('/api/sendVideo', { session: 'line_one', chatId: '31687654321@c.us', file: { mimetype: 'video/mp4', url: 'https://x.test/v.mp4', filename: 'v.mp4' } }, /^convert must be a boolean value$/);
    await bad('/api/sendVoice', { session: 'line_one', chatId: '31687654321@c.us', file: { mimetype: 'audio/ogg; codecs=opus', url: 'https://x.test/v.ogg' } }, /^convert must be a boolean value$/);
    await bad('/api/sendLocation', { session: 'line_one', chatId: '31687654321@c.us', latitude: '52', longitude: 5 }, /latitude must be a number/);
    await bad('/api/sendLocation', { session: 'line_one', chatId: '31687654321@c.us', latitude: 52, longitude: 5 }, /^title must be a string$/);
    await bad('/api/sendContactVcard', { session: 'line_one', chatId: '31687654321@c.us', contacts: [] }, /contacts must be a non-empty array/);
    await bad('/api/sendList', { session: 'line_one', chatId: '31687654321@c.us', message: { title: 't', button: 'b', sections: [{ title: 's', rows: [{ title: 'r' }] }] } }, /rowId must be a string/);
    await bad('/api/sendSeen', { session: 'line_one', chatId: '31687654321@c.us', messageIds: [1] }, /messageIds must be a string/);
    const r = await call(w.sim.url, 'PUT', '/api/reaction', { session: 'line_one', messageId: 'AAAA', reaction: '👍' });
    assert.equal(r.status, 400);
  });

  test('unknown session → 404 "Session not found"; unknown route → NestJS 404', async () => {
    const r = await call(w.sim.url, 'POST', '/api/sendText', { session: 'ghost', chatId: '31687654321@c.us', text: 'x' });
    assert.deepEqual(r, { status: 404, json: { statusCode: 404, message: 'Session not found', error: 'Not Found' }, text: r.text });
    assert.deepEqual((await call(w.sim.url, 'GET', '/api/nothing/here/at/all')).json, { statusCode: 404, message: 'Cannot GET /api/nothing/here/at/all', error: 'Not Found' });
  });

  test('sending while not WORKING → the real 422 body (error_session_not_working_422.json shape)', async () => {
    await call(w.sim.url, 'POST', '/api/sessions/line_one/stop');
    await call(w.sim.url, 'POST', '/api/sessions/line_one/start');
    const r = await call(w.sim.url, 'POST', '/api/sendText', { session: 'line_one', chatId: '31687654321@c.us', text: 'x' });
    const doc = fixtureJson<Record<string, unknown>>('waha', 'error_session_not_working_422.json');
    assert.equal(r.status, 422);
    assert.deepEqual(r.json, { ...doc, session: 'line_one', status: 'STARTING' });
    await w.sim.idle();
    assert.equal((await call(w.sim.url, 'POST', '/api/sendText', { session: 'line_one', chatId: '31687654321@c.us', text: 'x' })).status, 201);
  });

  test('sessions: duplicate create → 422 "already exists", bad webhook config → 400, QR outside SCAN_QR_CODE → 422', async () => {
    const dup = await call(w.sim.url, 'POST', '/api/sessions', { name: 'line_one' });
    assert.deepEqual(dup.json, { statusCode: 422, message: "Session 'line_one' already exists. Use PUT to update it.", error: 'Unprocessable Entity' });
    const cfg = await call(w.sim.url, 'POST', '/api/sessions', { name: 'two', config: { webhooks: [{ url: 'nope', events: 'message', retries: { policy: 'sometimes' } }] } });
    assert.equal(cfg.status, 400);
    assert.deepEqual((cfg.json as { message: string[] }).message, [
      'config.webhooks.0.url must be a URL address',
      'config.webhooks.0.events must be an array',
      'config.webhooks.0.retries.policy must be one of the following values: linear, exponential, constant',
    ]);
    const qr = await call(w.sim.url, 'GET', '/api/line_one/auth/qr?format=raw');
    assert.equal(qr.status, 422);
    assert.deepEqual((qr.json as { expected: string[] }).expected, ['SCAN_QR_CODE']);
    assert.equal((await call(w.sim.url, 'GET', '/api/line_one/auth/qr?format=svg')).status, 400);
    const auto = await call(w.sim.url, 'POST', '/api/sessions', { start: false });
    assert.match((auto.json as { name: string }).name, /^session_[0-9a-f]{16}$/, 'name is generated when absent');
  });

  test('reads need a WORKING session and contacts need ?session=', async () => {
    assert.equal((await call(w.sim.url, 'GET', '/api/contacts/all')).status, 400);
    await call(w.sim.url, 'POST', '/api/sessions/line_one/stop');
    assert.equal((await call(w.sim.url, 'GET', '/api/line_one/chats')).status, 422);
    await call(w.sim.url, 'POST', '/api/sessions/line_one/start');
    await w.sim.idle();
  });
});

describe('WAHA simulator webhooks', () => {
  test("group receipts come as message.ack.group with the reader appended; Switchboard's parser names the message as the send did", async () => {
    const w = await world();
    try {
      const group = '120363404882958348@g.us';
      const sent = await w.adapter.send(w.ch, { to: group, content: { type: 'text', text: 'hi all' }, clientRef: 'msg_G1' });
      await w.sim.idle();
      assert.equal(w.receiver.bodies('message.ack').filter((b) => String((b.payload as { id: string }).id).startsWith(sent.providerMessageId)).length, 1, 'only the server ack as message.ack');
      const group_acks = w.receiver.bodies('message.ack.group');
      assert.deepEqual(group_acks.map((b) => (b.payload as { ackName: string }).ackName), ['DEVICE', 'READ']);
      for (const b of group_acks) {
        const p = b.payload as { id: string; participant: string };
        assert.equal(p.id, `${sent.providerMessageId}_${p.participant}`);
        const [e] = events(b);
        assert.ok(e?.kind === 'message.status');
        assert.equal(e.providerMessageId, sent.providerMessageId);
      }
    } finally {
      await w.close();
    }
  });

  test('signed with the session key over the exact body, WAHA headers, envelope fields', async () => {
    const w = await world();
    try {
      const id = w.sim.sendInbound('line_one', { from: '+31687654321', text: 'hello', pushName: 'Ana' });
      await w.sim.idle();
      const hook = w.receiver.hooks.at(-1)!;
      assert.equal(hook.headers['x-webhook-hmac-algorithm'], 'sha512');
      assert.match(hook.headers['x-webhook-hmac'] ?? '', /^[0-9a-f]{128}$/);
      assert.match(hook.headers['user-agent'] ?? '', /^WAHA\/2026\.7\.1$/);
      assert.equal(wahaWebhook.verify({ headers: hook.headers, body: hook.body, query: {} }, { baseUrl: '', apiKey: '', sessionName: 'line_one', webhookHmacKey: HMAC_KEY }), true);
      const env = JSON.parse(hook.body.toString('utf8')) as Record<string, unknown>;
      assert.match(String(env.id), /^evt_[0-9a-z]{26}$/);
      assert.equal(env.event, 'message');
      assert.equal(env.session, 'line_one');
      assert.deepEqual(env.me, { id: '31612345678@c.us', pushName: 'Line One' });
      assert.equal((env.payload as { id: string }).id, id);
      // Only subscribed events are delivered: `message.any` is not in Switchboard's list.
      assert.deepEqual(w.receiver.bodies('message.any'), []);
    } finally {
      await w.close();
    }
  });

  test('a failing receiver is retried per the session retries config', async () => {
    // Fails the first two attempts of every webhook request, then accepts it.
    const seen = new Map<string, number>();
    const flaky = new SimServer([
      {
        method: 'POST',
        path: '/hook',
        handler: (r) => {
          const id = r.headers['x-webhook-request-id'] ?? '';
          seen.set(id, (seen.get(id) ?? 0) + 1);
          return seen.get(id)! < 3 ? { status: 503, body: 'busy' } : { status: 200, body: 'ok' };
        },
      },
    ]);
    const sim = createWahaSimulator({ apiKey: API_KEY, webhookRetryDelayMs: 1 });
    try {
      const [base, hookBase] = await Promise.all([sim.listen(), flaky.listen()]);
      await call(base, 'POST', '/api/sessions', { name: 's', start: false, config: { webhooks: [{ url: `${hookBase}/hook`, events: ['session.status'], retries: { policy: 'constant', delaySeconds: 2, attempts: 5 } }] } });
      await call(base, 'POST', '/api/sessions/s/start');
      await sim.idle();
      assert.deepEqual(sim.deliveries.map((d) => [d.event, d.attempts, d.status]), [
        ['session.status', 3, 200],
        ['session.status', 3, 200],
      ]);
      const first = sim.deliveries[0]!;
      const attempts = flaky.requests('/hook').filter((r) => r.headers['x-webhook-request-id'] === first.headers['x-webhook-request-id']);
      assert.equal(attempts.length, 3, 'a retry repeats the same request');
      assert.ok(attempts.every((r) => r.body.toString('utf8') === first.body));
      assert.equal(flaky.requests('/hook')[0]?.headers['x-webhook-hmac'], undefined, 'no hmac configured, no signature');
    } finally {
      await sim.close();
      await flaky.close();
    }
  });
});
