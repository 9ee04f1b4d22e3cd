import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startTestApp, type TestApp } from '../support/app.js';
import { closeApp, drainAll, makeChannel, owner } from './support.js';

const FIX = '/work/shared/contracts/fixtures';
const fixture = (p: string) => readFileSync(`${FIX}/${p}`, 'utf8');
const HMAC_KEY = 'waha-hmac-key-0123456789';

describe('WAHA and UltraMsg ingress (per-channel token URLs)', () => {
  let t: TestApp;
  let a: { id: string };
  let b: { id: string };
  let waha: { id: string; token: string };
  let ultra: { id: string; token: string };
  before(async () => {
    t = await startTestApp();
    a = await t.tenant();
    b = await t.tenant();
    waha = await makeChannel(t, a.id, 'waha', { baseUrl: 'http://127.0.0.1:3000', apiKey: 'k', sessionName: 'default', webhookHmacKey: HMAC_KEY });
    ultra = await makeChannel(t, b.id, 'ultramsg', { instanceId: 'instance1150', token: 'ultra-token' });
  });
  after(() => closeApp(t));

  const post = (url: string, body: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: body });
  const wahaSig = (body: string) => ({ 'x-webhook-hmac': createHmac('sha512', HMAC_KEY).update(body).digest('hex'), 'x-webhook-hmac-algorithm': 'sha512' });

  it('WAHA: HMAC-verified webhook on the channel URL becomes a message of that tenant', async () => {
    const body = fixture('waha/webhook_message_webjs_full.json');
    const res = await post(`/webhooks/waha/${waha.token}`, body, wahaSig(body));
    assert.equal(res.statusCode, 200, res.body);
    await drainAll(t);
    const msgs = await owner(t).selectFrom('messages').select(['tenant_id', 'channel_id', 'direction']).where('channel_id', '=', waha.id).execute();
    assert.ok(msgs.length >= 1);
    assert.ok(msgs.every((m) => m.tenant_id === a.id));
  });

  it('WAHA: a bad or missing HMAC is refused and stores nothing', async () => {
    const body = fixture('waha/webhook_message_webjs_full.json').replace('"event"', '"event" ').trim();
    const bad = await post(`/webhooks/waha/${waha.token}`, body, { 'x-webhook-hmac': 'ab'.repeat(64) });
    assert.equal(bad.statusCode, 401);
    assert.equal((await post(`/webhooks/waha/${waha.token}`, body)).statusCode, 401);
  });

  it('WAHA: malformed JSON with a valid HMAC is kept and marked rejected, never a 500', async () => {
    const body = '{"event": "message", "session": ';
    const res = await post(`/webhooks/waha/${waha.token}`, body, wahaSig(body));
    assert.equal(res.statusCode, 200);
    await drainAll(t);
    const rows = await owner(t).selectFrom('inbox').select(['status', 'error']).where('channel_id', '=', waha.id).where('status', '=', 'rejected').execute();
    assert.equal(rows.length, 1);
  });

  it("WAHA: a signed body naming another session than the channel's is kept as rejected, never filed under this line", async () => {
    const body = fixture('waha/webhook_message_webjs_full.json').replace('"session": "default"', '"session": "some-other-session"');
    assert.notEqual(body, fixture('waha/webhook_message_webjs_full.json'));
    const before = await owner(t).selectFrom('messages').select('id').where('channel_id', '=', waha.id).execute();
    const res = await post(`/webhooks/waha/${waha.token}`, body, wahaSig(body));
    assert.equal(res.statusCode, 200, res.body);
    await drainAll(t);
    const after = await owner(t).selectFrom('messages').select('id').where('channel_id', '=', waha.id).execute();
    assert.equal(after.length, before.length, 'no message filed');
    const rows = await owner(t).selectFrom('inbox').select(['status', 'error']).where('channel_id', '=', waha.id).where('error', 'like', '%another line%').execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'rejected');
  });

  it('UltraMsg: the URL token routes; the same message twice is stored once', async () => {
    const body = fixture('ultramsg/webhook_message_received.json');
    for (let i = 0; i < 2; i++) assert.equal((await post(`/webhooks/ultramsg/${ultra.token}`, body)).statusCode, 200);
    await drainAll(t);
    const msgs = await owner(t).selectFrom('messages').select(['tenant_id', 'peer', 'direction']).where('channel_id', '=', ultra.id).execute();
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0]!.tenant_id, b.id);
    assert.equal(msgs[0]!.peer, '+10172127174');
  });

  it('UltraMsg: a payload naming another instance is refused', async () => {
    const body = fixture('ultramsg/webhook_message_received.json').replace('"1150"', '"9999"');
    assert.equal((await post(`/webhooks/ultramsg/${ultra.token}`, body)).statusCode, 401);
  });

  it('an unknown token or a token of another provider is 404 and records only the provider', async () => {
    const body = fixture('ultramsg/webhook_message_received.json');
    assert.equal((await post('/webhooks/ultramsg/not-a-real-token', body)).statusCode, 404);
    assert.equal((await post(`/webhooks/waha/${ultra.token}`, body, wahaSig(body))).statusCode, 404);
    assert.ok(!t.logs.some((l) => l.includes(ultra.token) && l.includes('refused')));
  });
});
