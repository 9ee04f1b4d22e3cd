/**
 * A channel for a line another channel already holds is refused (409 external_id_taken) — and the
 * refusal must leave the holder's line alone. Connecting points the provider's webhooks at the new
 * channel (WAHA replaces the session's Switchboard webhooks, UltraMsg the instance's webhook URL), and
 * it ran before the check: the refused duplicate took the line's inbound messages away from its
 * owner (review of 2026-12-01). Now the line is checked (after a read-only connection test, so
 * made-up credentials learn nothing) before anything is pointed, one line at a time.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { createWahaSimulator, type WahaSimulator } from '../../src/providers/waha/index.js';
import { createUltramsgSimulator } from '../../src/providers/ultramsg/simulator.js';

let t: TestApp;
let waha: WahaSimulator;
let um: ReturnType<typeof createUltramsgSimulator>;
before(async () => {
  t = await startTestApp();
  waha = createWahaSimulator({ apiKey: 'waha-key-0123456789' });
  await waha.listen();
  um = createUltramsgSimulator({ instances: [{ instanceId: 'instance1150', token: 'tok-1150' }, { instanceId: 'instance1151', token: 'tok-1151' }, { instanceId: 'instance1152', token: 'tok-1152' }] });
  await um.listen();
});
after(async () => {
  await waha.close();
  await um.close();
  await t.close();
});

const wahaCreds = (sessionName: string, hmac: string, apiKey = 'waha-key-0123456789') => ({ baseUrl: waha.url, apiKey, sessionName, webhookHmacKey: hmac });
const create = (key: string, provider: string, credentials: object) =>
  t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(key), payload: { name: 'line', provider, credentials } });
const hooksOf = (session: string) => (waha.session(session).config.webhooks as { url: string; hmac: { key: string } }[]).map((h) => [h.url, h.hmac.key]);

test("WAHA: another tenant's refused duplicate leaves the owner's webhook in place; made-up credentials learn nothing", async () => {
  const [a, b] = [await t.tenant(), await t.tenant()];
  const made = await create(a.key, 'waha', wahaCreds('line1', 'hmac-key-AAAAAAAAAAAA'));
  assert.equal(made.statusCode, 201, made.body);
  const dup = await create(b.key, 'waha', wahaCreds('line1', 'hmac-key-BBBBBBBBBBBB'));
  assert.equal(dup.statusCode, 409, dup.body);
  assert.equal(dup.json().code, 'external_id_taken');
  assert.deepEqual(hooksOf('line1'), [[made.json().webhook_url, 'hmac-key-AAAAAAAAAAAA']]);
  const guess = await create(b.key, 'waha', wahaCreds('line1', 'hmac-key-CCCCCCCCCCCC', 'wrong-key-0123456789'));
  assert.equal(guess.json().code, 'channel_credentials_rejected', 'a taken line is not revealed to credentials that do not work');
  assert.deepEqual(hooksOf('line1'), [[made.json().webhook_url, 'hmac-key-AAAAAAAAAAAA']]);
});

test('WAHA: two tenants adding one line at once — one channel gets it, and the webhook is that one’s', async () => {
  const [a, b] = [await t.tenant(), await t.tenant()];
  const rs = await Promise.all([create(a.key, 'waha', wahaCreds('line2', 'hmac-key-AAAAAAAAAAAA')), create(b.key, 'waha', wahaCreds('line2', 'hmac-key-BBBBBBBBBBBB'))]);
  assert.deepEqual(rs.map((r) => r.statusCode).sort(), [201, 409]);
  const won = rs.find((r) => r.statusCode === 201)!.json();
  assert.deepEqual(hooksOf('line2').map(([url]) => url), [won.webhook_url]);
});

test("UltraMsg: a duplicate (the same instance written another way) and a PATCH moving a channel onto a held line leave the owner's webhook URL", async () => {
  const a = await t.tenant();
  const c = { instanceId: 'instance1150', token: 'tok-1150', baseUrl: um.url };
  const made = await create(a.key, 'ultramsg', c);
  assert.equal(made.statusCode, 201, made.body);
  const dup = await create(a.key, 'ultramsg', { ...c, instanceId: '1150' });
  assert.equal(dup.json().code, 'external_id_taken', dup.body);
  assert.equal(um.instance('instance1150').settings.webhook_url, made.json().webhook_url);
  const other = await create(a.key, 'ultramsg', { instanceId: 'instance1151', token: 'tok-1151', baseUrl: um.url });
  assert.equal(other.statusCode, 201, other.body);
  const move = await t.app.inject({ method: 'PATCH', url: `/v1/channels/${other.json().id}`, headers: bearer(a.key), payload: { credentials: c } });
  assert.equal(move.json().code, 'external_id_taken', move.body);
  assert.equal(um.instance('instance1150').settings.webhook_url, made.json().webhook_url);
  assert.equal(um.instance('instance1151').settings.webhook_url, other.json().webhook_url);
});

test("deleting a channel takes its webhook off the provider's session and leaves the session (and others' webhooks) alone", async () => {
  const a = await t.tenant();
  const made = await create(a.key, 'waha', wahaCreds('line4', 'hmac-key-AAAAAAAAAAAA'));
  assert.equal(made.statusCode, 201, made.body);
  // The operator's own webhook on the same session.
  const cfg = waha.session('line4').config as { webhooks: unknown[] };
  cfg.webhooks.push({ url: 'https://crm.example.test/hook', events: ['message'] });
  const del = await t.app.inject({ method: 'DELETE', url: `/v1/channels/${made.json().id}`, headers: bearer(a.key) });
  assert.equal(del.statusCode, 204, del.body);
  assert.deepEqual((waha.session('line4').config.webhooks as { url: string }[]).map((h) => h.url), ['https://crm.example.test/hook']);
  assert.ok(waha.session('line4'), 'the session stays (it throws once deleted)');

  const u = await create(a.key, 'ultramsg', { instanceId: 'instance1152', token: 'tok-1152', baseUrl: um.url });
  assert.equal(u.statusCode, 201, u.body);
  await t.app.inject({ method: 'DELETE', url: `/v1/channels/${u.json().id}`, headers: bearer(a.key) });
  assert.equal(um.instance('instance1152').settings.webhook_url, '');
});

test('stopping an UltraMsg line that waits for its QR scan is 409 session_not_ready (the provider answered), not 502', async () => {
  const a = await t.tenant();
  const sim = createUltramsgSimulator({ instances: [{ instanceId: 'instance1160', token: 'tok-1160', status: 'qr' }] });
  await sim.listen();
  try {
    const u = await create(a.key, 'ultramsg', { instanceId: 'instance1160', token: 'tok-1160', baseUrl: sim.url });
    assert.equal(u.statusCode, 201, u.body);
    const r = await t.app.inject({ method: 'POST', url: `/v1/channels/${u.json().id}/session/stop`, headers: bearer(a.key) });
    assert.equal(r.statusCode, 409, r.body);
    assert.equal(r.json().code, 'session_not_ready');
  } finally {
    await sim.close();
  }
});

test("a deleted channel's webhook is left alone when it is no longer this channel's, and the delete stands when the provider is down", async () => {
  const a = await t.tenant();
  const own = createUltramsgSimulator({ instances: [{ instanceId: 'instance1170', token: 'tok-1170' }] });
  await own.listen();
  const gone = createWahaSimulator({ apiKey: 'waha-key-0123456789' });
  await gone.listen();
  try {
    const made = await create(a.key, 'ultramsg', { instanceId: 'instance1170', token: 'tok-1170', baseUrl: own.url });
    assert.equal(made.statusCode, 201, made.body);
    // Someone pointed the instance elsewhere since: the delete must not clear their webhook.
    own.instance('instance1170').settings.webhook_url = 'https://other.example.test/hook';
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/channels/${made.json().id}`, headers: bearer(a.key) })).statusCode, 204);
    assert.equal(own.instance('instance1170').settings.webhook_url, 'https://other.example.test/hook');

    const down = await create(a.key, 'waha', { baseUrl: gone.url, apiKey: 'waha-key-0123456789', sessionName: 'line5', webhookHmacKey: 'hmac-key-AAAAAAAAAAAA' });
    assert.equal(down.statusCode, 201, down.body);
    await gone.close();
    const del = await t.app.inject({ method: 'DELETE', url: `/v1/channels/${down.json().id}`, headers: bearer(a.key) });
    assert.equal(del.statusCode, 204, del.body);
    assert.equal((await t.app.inject({ url: `/v1/channels/${down.json().id}`, headers: bearer(a.key) })).statusCode, 404);
    assert.ok(t.logs.some((l) => l.includes('webhook could not be taken off its provider session')), 'logged');
  } finally {
    await own.close();
    await gone.close().catch(() => undefined);
  }
});
