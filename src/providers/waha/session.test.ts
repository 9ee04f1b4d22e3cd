import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../../test/support/fixtures.js';
import { ProviderError } from '../../core/errors.js';
import { isRecord } from '../http.js';
import { sessionInfo, WAHA_WEBHOOK_EVENTS } from './session.js';
import { API_KEY, HMAC_KEY, world } from './test-support.js';
import { wahaWebhook } from './webhook.js';

const kindOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof ProviderError ? e.kind : `not a ProviderError: ${String(e)}`),
  );

describe('WAHA session answers (fixtures)', () => {
  test('session_create_response.json → starting, no me yet', () => {
    assert.deepEqual(sessionInfo(fixtureJson('waha', 'session_create_response.json')), { status: 'starting', providerStatus: 'STARTING', me: null });
  });

  test('session_get_response.json → working with me (invalid number kept as JID)', () => {
    assert.deepEqual(sessionInfo(fixtureJson('waha', 'session_get_response.json')), { status: 'working', providerStatus: 'WORKING', me: { id: '79111111@c.us', name: 'WAHA' } });
  });

  test('sessions_list_response.json: each item reads like a single session, and the simulator lists the same fields', async () => {
    const list = fixtureJson<unknown[]>('waha', 'sessions_list_response.json');
    assert.deepEqual(list.map(sessionInfo), [{ status: 'working', providerStatus: 'WORKING', me: { id: '79111111@c.us', name: 'WAHA' } }]);
    const w = await world();
    try {
      const res = await fetch(`${w.sim.url}/api/sessions`, { headers: { 'x-api-key': API_KEY } });
      const items = (await res.json()) as Record<string, unknown>[];
      assert.equal(items.length, 1);
      for (const key of Object.keys(list[0] as object)) assert.ok(key in items[0]!, `simulator list item lacks ${key}`);
      assert.deepEqual(items[0]!.engine, { engine: 'WEBJS' });
    } finally {
      await w.close();
    }
  });
});

describe('WAHA session lifecycle against the simulator', () => {
  test('create: documented body shape, STARTING → SCAN_QR_CODE, QR as PNG and raw, pair → WORKING with me', async () => {
    const w = await world({ paired: false });
    try {
      const created = await w.adapter.session.create(w.ch, { webhookUrl: w.receiver.url });
      assert.deepEqual(created, { status: 'starting', providerStatus: 'STARTING', me: null });

      // Same structure as the documented create request (session_create_request.json).
      const doc = fixtureJson<{ config: { webhooks: Record<string, unknown>[] } }>('waha', 'session_create_request.json');
      const sent = w.sim.requests('/api/sessions').find((r) => r.method === 'POST')?.json as { name: string; start: boolean; config: { webhooks: Record<string, unknown>[] } };
      assert.equal(sent.name, 'line_one');
      assert.equal(sent.start, true);
      const hook = sent.config.webhooks[0]!;
      for (const key of ['url', 'events', 'hmac', 'retries']) assert.ok(key in doc.config.webhooks[0]! && key in hook, key);
      assert.equal(hook.url, w.receiver.url);
      assert.deepEqual(hook.events, [...WAHA_WEBHOOK_EVENTS]);
      assert.deepEqual(hook.hmac, { key: HMAC_KEY });
      assert.deepEqual(Object.keys(hook.retries as object).sort(), Object.keys(doc.config.webhooks[0]!.retries as object).sort());

      await w.sim.idle();
      assert.equal((await w.adapter.session.get(w.ch)).status, 'scan_qr');
      const { png } = await w.adapter.session.qr(w.ch, 'png');
      assert.ok(png && png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'a real PNG');
      assert.ok(png.length > 200);
      const { raw } = await w.adapter.session.qr(w.ch, 'raw');
      assert.match(raw ?? '', /^2@/);
      assert.equal(await w.adapter.session.me(w.ch), null);

      w.sim.pair('line_one', { id: '31612345678@c.us', pushName: 'Line One' });
      await w.sim.idle();
      assert.deepEqual(await w.adapter.session.get(w.ch), { status: 'working', providerStatus: 'WORKING', me: { id: '+31612345678', name: 'Line One' } });
      assert.deepEqual(await w.adapter.session.me(w.ch), { id: '+31612345678', name: 'Line One' });
      assert.equal(await kindOf(w.adapter.session.qr(w.ch, 'raw')), 'session_not_ready', 'no QR once paired');

      // Every session.status webhook was signed with the channel's key and parses to the status walk.
      for (const h of w.receiver.hooks) {
        assert.equal(wahaWebhook.verify({ headers: h.headers, body: h.body, query: h.query }, w.ch.credentials), true);
        assert.ok(h.headers['x-webhook-request-id'] && /^\d{13}$/.test(h.headers['x-webhook-timestamp'] ?? ''));
      }
      assert.deepEqual(w.receiver.events().map((e) => e.kind === 'session.status' && e.status), ['starting', 'scan_qr', 'working']);
    } finally {
      await w.close();
    }
  });

  test('stop / start / restart / logout / delete', async () => {
    const w = await world();
    try {
      const s = w.adapter.session;
      assert.equal((await s.stop(w.ch)).status, 'stopped');
      assert.equal((await s.start(w.ch)).status, 'starting');
      await w.sim.idle();
      assert.equal((await s.get(w.ch)).status, 'working', 'pairing survives stop/start');
      assert.equal((await s.restart(w.ch)).status, 'starting');
      await w.sim.idle();
      assert.equal((await s.get(w.ch)).status, 'working');
      await s.logout(w.ch);
      await w.sim.idle();
      assert.equal((await s.get(w.ch)).status, 'scan_qr', 'logout forgets the phone');
      await s.delete(w.ch);
      assert.equal(await kindOf(s.get(w.ch)), 'not_found');
      await s.delete(w.ch); // idempotent
      for (const op of ['start', 'stop', 'restart', 'logout'] as const) assert.equal(await kindOf(s[op](w.ch)), 'not_found', op);
    } finally {
      await w.close();
    }
  });

  test('create on an existing session updates it with PUT, keeping the operator config', async () => {
    const w = await world({ paired: false });
    try {
      const other = { url: 'https://crm.example/hook', events: ['message'] };
      const res = await fetch(`${w.sim.url}/api/sessions`, {
        method: 'POST',
        headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'line_one', start: false, config: { proxy: { server: 'proxy:3128' }, webhooks: [other, { url: `${w.receiver.url.replace(/tok_test$/, 'tok_old')}`, events: ['message'] }] } }),
      });
      assert.equal(res.status, 201);
      const info = await w.adapter.session.create(w.ch, { webhookUrl: w.receiver.url });
      assert.equal(info.status, 'starting', 'a stopped session is started');
      const put = w.sim.requests('/api/sessions/line_one').find((r) => r.method === 'PUT')?.json as { config: Record<string, unknown> };
      assert.deepEqual(put.config.proxy, { server: 'proxy:3128' });
      const hooks = put.config.webhooks as Record<string, unknown>[];
      assert.deepEqual(hooks.map((h) => h.url), ['https://crm.example/hook', w.receiver.url], 'old Switchboard token replaced, operator hook kept');
      assert.ok(isRecord(hooks[1]!.hmac));
    } finally {
      await w.close();
    }
  });

  test('WAHA Core < 2026.6.1 refuses a second session name: invalid_request', async () => {
    const w = await world({ paired: false, onlyDefaultSession: true });
    try {
      assert.equal(await kindOf(w.adapter.session.create(w.ch, { webhookUrl: w.receiver.url })), 'invalid_request');
    } finally {
      await w.close();
    }
  });
});

describe('WAHA QR and me answers (fixtures)', () => {
  test('qr_base64_response.json: a JSON QR answer is decoded; the simulator answers the same shape for Accept: json', async () => {
    const w = await world({ paired: false });
    try {
      await w.adapter.session.create(w.ch, { webhookUrl: w.receiver.url });
      await w.sim.idle();
      const doc = fixtureJson<{ mimetype: string; data: string }>('waha', 'qr_base64_response.json');
      w.sim.injectFault({ path: '/auth/qr', response: { status: 200, json: doc } });
      assert.deepEqual((await w.adapter.session.qr(w.ch, 'png')).png, Buffer.from(doc.data, 'base64'));
      const res = await fetch(`${w.sim.url}/api/line_one/auth/qr?format=image`, { headers: { 'x-api-key': API_KEY, accept: 'application/json' } });
      const body = (await res.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), Object.keys(doc).sort());
      assert.equal(body.mimetype, 'image/png');
    } finally {
      await w.close();
    }
  });

  test('qr_raw_response.json and me_response.json read through the adapter', async () => {
    const w = await world({ paired: false });
    try {
      await w.adapter.session.create(w.ch, { webhookUrl: w.receiver.url });
      await w.sim.idle();
      w.sim.injectFault({ path: '/auth/qr', response: { status: 200, json: fixtureJson('waha', 'qr_raw_response.json') } });
      assert.deepEqual(await w.adapter.session.qr(w.ch, 'raw'), { raw: 'value-that-you-need-to-use-to-generate-qr-code' });
      assert.equal(w.sim.requests('/auth/qr').at(-1)?.query.format, 'raw');
      w.sim.injectFault({ path: '/me', response: { status: 200, json: fixtureJson('waha', 'me_response.json') } });
      assert.deepEqual(await w.adapter.session.me(w.ch), { id: '+11111111111', name: 'string' });
    } finally {
      await w.close();
    }
  });
});
