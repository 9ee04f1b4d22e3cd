import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../../test/support/fixtures.js';
import type { OutboundContent, SendRequest } from '../../core/canonical.js';
import { normalizeAddress } from '../../core/address.js';
import { ProviderError } from '../../core/errors.js';
import { createUltramsgAdapter } from './adapter.js';
import { createUltramsgSimulator, type UltramsgSimulator } from './simulator.js';
import { INSTANCE, TOKEN, channel, deps } from './test-support.js';

let sim: UltramsgSimulator;
const adapter = createUltramsgAdapter(deps(5000));
const ch = () => channel(sim.url);
const send = (content: OutboundContent, extra: Partial<SendRequest> = {}) =>
  adapter.send(ch(), { to: '+14155552671', content, clientRef: 'msg_01TEST', ...extra });

async function rejects(p: Promise<unknown>, kind: string, retryable?: boolean): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, String(err));
    assert.equal(err.kind, kind, err.message);
    if (retryable !== undefined) assert.equal(err.retryable, retryable);
    return err;
  }
  assert.fail(`expected ${kind}`);
}

/** A fixture's fields as the form body carries them: strings, with placeholders filled in. */
function asForm(fixture: Record<string, unknown>, fill: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fixture)) out[k] = fill[k] ?? String(v);
  return out;
}

before(async () => {
  sim = createUltramsgSimulator({ instances: [{ instanceId: INSTANCE, token: TOKEN }, { instanceId: '2222', token: 'other', status: 'qr' }] });
  await sim.listen();
});
after(() => sim.close());
beforeEach(() => {
  sim.server.clearFaults();
  sim.server.received.length = 0;
  sim.setStatus(INSTANCE, 'authenticated');
  sim.setStopped(INSTANCE, false);
});

describe('UltraMsg adapter ↔ simulator over HTTP', () => {
  test('text: the request equals send_chat_request.json, the result is the queue id', async () => {
    const res = await send({ type: 'text', text: 'Hi' });
    assert.match(res.providerMessageId, /^\d+$/);
    const [req] = sim.server.requests('/messages/chat');
    assert.equal(req?.path, `/${INSTANCE}/messages/chat`);
    assert.equal(req?.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(req?.form, asForm(fixtureJson('ultramsg', 'send_chat_request.json'), { token: TOKEN, referenceId: 'msg_01TEST' }));
    const success = fixtureJson<{ id: number }>('ultramsg', 'send_success_response.json');
    assert.equal(typeof success.id, 'number', 'the real answer carries a numeric id that we stringify');
  });

  test('image: the request equals send_image_request.json (`to` compared canonically)', async () => {
    const fx = fixtureJson<Record<string, unknown>>('ultramsg', 'send_image_request.json');
    await adapter.send(ch(), { to: String(fx.to), content: { type: 'image', media: { url: String(fx.image) } }, clientRef: 'msg_02' });
    const form = sim.server.requests('/messages/image')[0]!.form!;
    const want = asForm(fx, { token: TOKEN, referenceId: 'msg_02' });
    assert.equal(normalizeAddress(form.to!), normalizeAddress(want.to!));
    assert.deepEqual({ ...form, to: '' }, { ...want, to: '' });
  });

  test('every supported content type is accepted by the simulator on the right endpoint', async () => {
    const cases: [OutboundContent, string, Record<string, string>][] = [
      [{ type: 'video', media: { url: 'https://x.test/v.mp4' }, caption: 'c' }, 'video', { video: 'https://x.test/v.mp4', caption: 'c' }],
      [{ type: 'audio', media: { url: 'https://x.test/a.mp3' } }, 'audio', { audio: 'https://x.test/a.mp3' }],
      [{ type: 'audio', media: { url: 'https://x.test/a.ogg', mimeType: 'audio/ogg; codecs=opus' } }, 'voice', { audio: 'https://x.test/a.ogg' }],
      [{ type: 'document', media: { url: 'https://x.test/files/report%201.pdf' } }, 'document', { filename: 'report 1.pdf', caption: '' }],
      [{ type: 'document', media: { url: 'https://x.test/d' }, filename: 'q.pdf', caption: 'Q' }, 'document', { filename: 'q.pdf', caption: 'Q' }],
      [{ type: 'sticker', media: { url: 'https://x.test/s.webp' } }, 'sticker', { sticker: 'https://x.test/s.webp' }],
      [{ type: 'location', latitude: 25.197197, longitude: 55.2721877, name: 'Burj', address: 'Dubai' }, 'location', { lat: '25.197197', lng: '55.2721877', address: 'Burj\nDubai' }],
      [{ type: 'location', latitude: 1.5, longitude: -2 }, 'location', { address: '1.5,-2' }],
      [{ type: 'contacts', contacts: [{ name: { formatted: 'Ana' }, phones: [{ phone: '+14155550000' }] }] }, 'vcard', {}],
      [
        { type: 'contacts', contacts: [{ name: { formatted: 'A' }, phones: [{ phone: '+14155550000' }] }, { name: { formatted: 'B' }, phones: [{ phone: '+4915112345678', waId: '4915112345678' }] }] },
        'contact',
        { contact: '14155550000@c.us,4915112345678@c.us' },
      ],
      [{ type: 'reaction', messageId: 'false_14155552671@c.us_ABC', emoji: '👍' }, 'reaction', { msgId: 'false_14155552671@c.us_ABC', emoji: '👍' }],
    ];
    for (const [content, endpoint, fields] of cases) {
      sim.server.received.length = 0;
      const res = await send(content);
      assert.match(res.providerMessageId, /^\d+$/, endpoint);
      const form = sim.server.requests(`/messages/${endpoint}`)[0]?.form;
      assert.ok(form, `${content.type} → messages/${endpoint}`);
      for (const [k, v] of Object.entries(fields)) assert.equal(form[k], v, `${endpoint}.${k}`);
      if (endpoint === 'vcard') assert.match(form.vcard!, /^BEGIN:VCARD[\s\S]*FN:Ana[\s\S]*waid=14155550000:\+14155550000[\s\S]*END:VCARD$/);
      if (endpoint === 'reaction') assert.equal(form.to, undefined);
    }
  });

  test('replies carry msgId; groups are addressed by their JID', async () => {
    await send({ type: 'text', text: 'yes' }, { replyTo: 'false_14155552671@c.us_Q1', to: '120363025246125486@g.us' });
    const form = sim.server.requests('/messages/chat')[0]!.form!;
    assert.equal(form.msgId, 'false_14155552671@c.us_Q1');
    assert.equal(form.to, '120363025246125486@g.us');
  });

  test('templates, interactive, media ids and bsuids are refused before any HTTP call', async () => {
    await rejects(send({ type: 'template', name: 'hello', language: 'en' }), 'invalid_request', false);
    await rejects(send({ type: 'interactive', interactive: { kind: 'buttons', body: 'b', buttons: [{ id: '1', title: 't' }] } }), 'invalid_request');
    await rejects(send({ type: 'image', media: { id: '123' } }), 'invalid_request');
    await rejects(send({ type: 'text', text: 'x' }, { to: 'bsuid:US.1234567890' }), 'invalid_request');
    assert.equal(sim.server.received.length, 0);
  });

  test('bad token → unauthorized (HTTP 200 body); unknown instance → not_found (HTTP 404)', async () => {
    await rejects(adapter.send(channel(sim.url, { token: 'nope' }), { to: '+14155552671', content: { type: 'text', text: 'x' }, clientRef: 'm' }), 'unauthorized', false);
    const e = await rejects(adapter.testConnection(channel(sim.url, { instanceId: '999' })), 'not_found', false);
    assert.equal(e.httpStatus, 404);
    await rejects(adapter.testConnection(channel(sim.url, { token: 'nope' })), 'unauthorized');
  });

  test('not connected → session_not_ready (retryable); stopped for non-payment → unauthorized, not retryable', async () => {
    sim.setStatus(INSTANCE, 'qr');
    await rejects(send({ type: 'text', text: 'x' }), 'session_not_ready', true);
    sim.setStatus(INSTANCE, 'authenticated');
    sim.setStopped(INSTANCE, true);
    const e = await rejects(send({ type: 'text', text: 'x' }), 'unauthorized', false);
    assert.equal(e.providerCode, 'instance_stopped');
  });

  test('429 with Retry-After, 5xx, and a hanging server map to retryable errors', async () => {
    sim.server.injectFault({ path: '/messages/chat', response: { status: 429, body: 'Too Many Requests', headers: { 'retry-after': '3' } } });
    const r = await rejects(send({ type: 'text', text: 'x' }), 'rate_limited', true);
    assert.equal(r.retryAfterMs, 3000);
    sim.server.injectFault({ path: '/messages/chat', response: { status: 502, body: 'Bad Gateway' } });
    await rejects(send({ type: 'text', text: 'x' }), 'unavailable', true);
    sim.server.injectFault({ path: '/messages/chat', hang: true });
    await rejects(createUltramsgAdapter(deps(150)).send(ch(), { to: '+14155552671', content: { type: 'text', text: 'x' }, clientRef: 'm' }), 'timeout', true);
  });

  test('an unrecognised 200 answer is not taken as success', async () => {
    sim.server.injectFault({ path: '/messages/chat', response: { status: 200, json: { hello: 'world' } } });
    await rejects(send({ type: 'text', text: 'x' }), 'unknown', false);
    sim.server.injectFault({ path: '/messages/chat', response: { status: 200, json: { sent: 'queued', id: 77 } } });
    assert.deepEqual(await send({ type: 'text', text: 'x' }), { providerMessageId: '77' });
    // Accepted without an id: not failed (the scheduler would send it again), recorded under our id.
    sim.server.injectFault({ path: '/messages/chat', response: { status: 200, json: { sent: 'true', message: 'ok' } } });
    const noId = await send({ type: 'text', text: 'x' });
    assert.match(noId.providerMessageId, /^switchboard:/);
  });

  test('markRead posts chats/read with the chat id; testConnection reports the status', async () => {
    await adapter.markRead!(ch(), { providerMessageId: 'false_1@c.us_X', chat: '+14155552671' });
    assert.equal(sim.server.requests('/chats/read')[0]?.form?.chatId, '14155552671@c.us');
    assert.deepEqual(await adapter.testConnection(ch()), { ok: true, detail: 'instance status: authenticated/connected' });
  });
});

describe('UltraMsg simulator rejects what UltraMsg rejects', () => {
  const post = (path: string, fields: Record<string, string>, instance = INSTANCE) =>
    fetch(`${sim.url}/${instance}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as unknown }));

  test('missing fields answer the real validation array (error_validation_required.json)', async () => {
    const r = await post('messages/chat', { token: TOKEN });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, fixtureJson('ultramsg', 'error_validation_required.json'));
  });

  test('wrong token and unknown instance answer the real bodies', async () => {
    assert.deepEqual((await post('messages/chat', { token: 'bad', to: '+14155552671', body: 'x' })).json, fixtureJson('ultramsg', 'error_wrong_token.json'));
    const nf = await post('messages/chat', { token: TOKEN }, 'instance404');
    assert.equal(nf.status, 404);
    assert.deepEqual(nf.json, fixtureJson('ultramsg', 'error_instance_not_found.json'));
    sim.setStopped(INSTANCE, true);
    assert.deepEqual((await post('messages/chat', { token: TOKEN, to: '+14155552671', body: 'x' })).json, fixtureJson('ultramsg', 'error_instance_stopped_nonpayment.json'));
  });

  test('limits: body > 4096, caption > 1024, bad coordinates, bad recipient', async () => {
    const long = await post('messages/chat', { token: TOKEN, to: '+14155552671', body: 'x'.repeat(4097) });
    assert.deepEqual(long.json, { error: [{ body: 'max length 4096 characters' }] });
    assert.equal(((await post('messages/chat', { token: TOKEN, to: '+14155552671', body: 'x'.repeat(4096) })).json as { sent: string }).sent, 'true');
    const cap = await post('messages/image', { token: TOKEN, to: '+14155552671', image: 'https://x/y.png', caption: 'c'.repeat(1025) });
    assert.deepEqual(cap.json, { error: [{ caption: 'max length 1024 characters' }] });
    const loc = await post('messages/location', { token: TOKEN, to: '+14155552671', address: 'a', lat: '91', lng: 'east' });
    assert.deepEqual(loc.json, { error: [{ lat: 'invalid latitude' }, { lng: 'invalid longitude' }] });
    const to = await post('messages/chat', { token: TOKEN, to: 'someone', body: 'x' });
    assert.deepEqual(to.json, { error: [{ to: 'invalid phone number or chatID' }] });
    // Only +E164, <digits>@c.us and <gid>@g.us (contracts §3.2): other WhatsApp ids are refused.
    for (const other of ['status@broadcast', '123456789012345@lid', '120363000000000000@newsletter']) {
      const r = await post('messages/chat', { token: TOKEN, to: other, body: 'x' });
      assert.deepEqual(r.json, { error: [{ to: 'invalid phone number or chatID' }] }, other);
    }
    for (const ok of ['14155552671@c.us', '120363043211234567@g.us']) {
      assert.equal(((await post('messages/chat', { token: TOKEN, to: ok, body: 'x' })).json as { sent: string }).sent, 'true', ok);
    }
    const doc = await post('messages/document', { token: TOKEN, to: '+14155552671', document: 'https://x/y.pdf' });
    assert.deepEqual(doc.json, { error: [{ filename: 'is required' }] });
  });

  test('not connected answers send_not_connected_response.json', async () => {
    sim.setStatus(INSTANCE, 'standby');
    assert.deepEqual((await post('messages/chat', { token: TOKEN, to: '+14155552671', body: 'x' })).json, fixtureJson('ultramsg', 'send_not_connected_response.json'));
  });
});
