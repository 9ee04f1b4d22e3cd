/**
 * Connecting a WAHA line end to end through the API (review of 2026-12-01: the session operations
 * existed but nothing called them, so a new WAHA line could not be created, its webhooks were never
 * configured and no QR code was offered): the channel's creation creates the session with its
 * webhooks pointed at the channel, and the session routes show, pair (QR as a PNG image) and control it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { createWahaSimulator, type WahaSimulator } from '../../src/providers/waha/index.js';
import { until } from '../inbound/support.js';

let t: TestApp;
let sim: WahaSimulator;
before(async () => {
  t = await startTestApp({ EGRESS_ALLOW_PRIVATE: 'true' });
  sim = createWahaSimulator({ apiKey: 'waha-key-0123456789' });
  await sim.listen();
});
after(async () => {
  await sim.close();
  await t.close();
});

const credentials = (sessionName: string) => ({ baseUrl: sim.url, apiKey: 'waha-key-0123456789', sessionName, webhookHmacKey: 'hmac-key-0123456789' });

test('a WAHA line whose session does not exist yet: created with its webhooks pointed at the channel, paired by a QR image, controlled through the API', async () => {
  const a = await t.tenant();
  const made = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(a.key), payload: { name: 'w', provider: 'waha', credentials: credentials('line1') } });
  assert.equal(made.statusCode, 201, made.body);
  const ch = made.json() as { id: string; webhook_url: string };
  const hooks = (sim.session('line1').config.webhooks as { url: string; events: string[]; hmac: { key: string } }[]);
  assert.equal(hooks.length, 1);
  assert.equal(hooks[0]!.url, ch.webhook_url);
  assert.equal(hooks[0]!.hmac.key, 'hmac-key-0123456789');
  assert.ok(hooks[0]!.events.includes('message'));

  const session = () => t.app.inject({ url: `/v1/channels/${ch.id}/session`, headers: bearer(a.key) });
  await until('waiting for a QR scan', async () => (await session()).json().status === 'scan_qr');
  assert.equal((await session()).json().provider_status, 'SCAN_QR_CODE');

  const png = await t.app.inject({ url: `/v1/channels/${ch.id}/session/qr`, headers: bearer(a.key) });
  assert.equal(png.statusCode, 200, png.body);
  assert.equal(png.headers['content-type'], 'image/png');
  assert.equal(png.rawPayload.readUInt32BE(0), 0x89504e47, 'a PNG');
  const raw = await t.app.inject({ url: `/v1/channels/${ch.id}/session/qr?format=raw`, headers: bearer(a.key) });
  assert.equal(raw.statusCode, 200, raw.body);
  assert.equal(typeof raw.json().raw, 'string');

  sim.pair('line1', { id: '31611111111@c.us', pushName: 'Shop' });
  const paired = (await session()).json();
  assert.equal(paired.status, 'working');
  assert.deepEqual(paired.me, { id: '+31611111111', name: 'Shop' });
  const noQr = await t.app.inject({ url: `/v1/channels/${ch.id}/session/qr`, headers: bearer(a.key) });
  assert.equal(noQr.statusCode, 409, 'a paired session has no QR to scan');

  const stopped = await t.app.inject({ method: 'POST', url: `/v1/channels/${ch.id}/session/stop`, headers: bearer(a.key) });
  assert.equal(stopped.statusCode, 200, stopped.body);
  assert.equal(stopped.json().status, 'stopped');
  const started = await t.app.inject({ method: 'POST', url: `/v1/channels/${ch.id}/session/start`, headers: bearer(a.key) });
  assert.equal(started.statusCode, 200, started.body);
  assert.notEqual(started.json().status, 'stopped');
  assert.equal((await t.app.inject({ method: 'POST', url: `/v1/channels/${ch.id}/session/explode`, headers: bearer(a.key) })).statusCode, 400);

  // Another tenant: 404; a read-only key sees the state but not the QR.
  const b = await t.tenant();
  assert.equal((await t.app.inject({ url: `/v1/channels/${ch.id}/session`, headers: bearer(b.key) })).statusCode, 404);
  assert.equal((await t.app.inject({ url: `/v1/channels/${ch.id}/session/qr`, headers: bearer(b.key) })).statusCode, 404);
  const ro = (await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(a.key), payload: { name: 'ro', scopes: ['channels:read'] } })).json().key as string;
  assert.equal((await t.app.inject({ url: `/v1/channels/${ch.id}/session`, headers: bearer(ro) })).statusCode, 200);
  assert.equal((await t.app.inject({ url: `/v1/channels/${ch.id}/session/qr`, headers: bearer(ro) })).statusCode, 403);
});

test('a line with no session (the sandbox) answers 409 on the session routes', async () => {
  const a = await t.tenant();
  const made = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(a.key), payload: { name: 's', provider: 'sandbox', credentials: {} } });
  assert.equal(made.statusCode, 201, made.body);
  const r = await t.app.inject({ url: `/v1/channels/${made.json().id}/session`, headers: bearer(a.key) });
  assert.equal(r.statusCode, 409, r.body);
});

test('the WAHA server down: the session routes answer channel_unreachable, never a 500', async () => {
  const a = await t.tenant();
  const down = createWahaSimulator({ apiKey: 'waha-key-0123456789' });
  await down.listen();
  const made = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(a.key), payload: { name: 'w', provider: 'waha', credentials: { baseUrl: down.url, apiKey: 'waha-key-0123456789', sessionName: 'gone', webhookHmacKey: 'hmac-key-0123456789' } } });
  assert.equal(made.statusCode, 201, made.body);
  await down.close();
  for (const [method, url] of [['GET', 'session'], ['GET', 'session/qr'], ['POST', 'session/restart']] as const) {
    const r = await t.app.inject({ method, url: `/v1/channels/${made.json().id}/${url}`, headers: bearer(a.key) });
    assert.equal(r.json().code, 'channel_unreachable', `${method} ${url}: ${r.body}`);
    assert.ok(r.statusCode >= 500 && r.statusCode !== 500, `${method} ${url}: ${r.statusCode}`);
  }
});
