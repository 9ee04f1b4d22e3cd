import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, bearer, type TestApp } from '../support/app.js';
import { createWahaSimulator, type WahaSimulator } from '../../src/providers/waha/index.js';

/** Content a provider cannot send is refused at accept (422 naming the provider), not at delivery. */
let t: TestApp;
let sim: WahaSimulator;
before(async () => {
  t = await startTestApp();
  sim = createWahaSimulator({ apiKey: 'waha-key-0123456789' });
  await sim.listen();
  const r = await fetch(`${sim.url}/api/sessions`, { method: 'POST', headers: { 'x-api-key': 'waha-key-0123456789', 'content-type': 'application/json' }, body: JSON.stringify({ name: 'default' }) });
  assert.equal(r.status, 201, await r.text());
});
after(async () => {
  await sim.close();
  await t.close();
});

test('WAHA: templates and reply buttons are refused up front, lists are accepted', async () => {
  const a = await t.tenant();
  const ch = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(a.key), payload: { name: 'w', provider: 'waha', credentials: { baseUrl: sim.url, apiKey: 'waha-key-0123456789', sessionName: 'default', webhookHmacKey: 'hmac-key-0123456789' } } });
  assert.equal(ch.statusCode, 201, ch.body);
  const send = (content: object) => t.app.inject({ method: 'POST', url: '/v1/messages', headers: bearer(a.key), payload: { channel_id: ch.json().id, to: '+31612345678', content } });
  const tpl = await send({ type: 'template', name: 'hello_world', language: 'en_US' });
  assert.equal(tpl.statusCode, 422);
  assert.equal(tpl.json().code, 'unsupported_content');
  assert.match(tpl.json().detail, /WAHA/);
  const buttons = await send({ type: 'interactive', interactive: { kind: 'buttons', body: 'Pick', buttons: [{ id: 'a', title: 'A' }] } });
  assert.equal(buttons.statusCode, 422, buttons.body);
  assert.match(buttons.json().detail, /reply buttons/);
  const byId = await send({ type: 'image', media: { id: '123456' } });
  assert.equal(byId.statusCode, 422);
  const list = await send({ type: 'interactive', interactive: { kind: 'list', body: 'Pick', buttonText: 'Options', sections: [{ title: 'S', rows: [{ id: 'r1', title: 'One' }] }] } });
  assert.equal(list.statusCode, 202, list.body);
});

test('a recipient the provider cannot address is refused at accept (422 unsupported_recipient), not failed at send', async () => {
  const a = await t.tenant();
  const { makeChannel } = await import('../inbound/support.js');
  const cloud = await makeChannel(t, a.id, 'cloud-api', { phoneNumberId: '700000001', wabaId: '1', accessToken: 'EAAG-x-0123456789', appSecret: 'app-secret-0123456789', verifyToken: 'v' });
  const ultra = await makeChannel(t, a.id, 'ultramsg', { instanceId: 'instance7001', token: 'tok' });
  const send = (channel_id: string, to: string) => t.app.inject({ method: 'POST', url: '/v1/messages', headers: bearer(a.key), payload: { channel_id, to, content: { type: 'text', text: 'hi' } } });
  for (const [channel, to] of [[cloud.id, '123456789012345@lid'], [ultra.id, 'bsuid:US.13491208655302741918']] as const) {
    // Twice: the first may go the full path, the second the warm single-accept path.
    for (let i = 0; i < 2; i++) {
      const r = await send(channel, to);
      assert.equal(r.statusCode, 422, r.body);
      assert.equal(r.json().code, 'unsupported_recipient');
      assert.equal(r.json().errors[0].path, '/to');
    }
  }
  const batch = await t.app.inject({ method: 'POST', url: '/v1/messages/batch', headers: bearer(a.key), payload: { messages: [
    { channel_id: cloud.id, to: '+31612345678', content: { type: 'text', text: 'fine' } },
    { channel_id: cloud.id, to: '123456789012345@lid', content: { type: 'text', text: 'not' } },
  ] } });
  assert.equal(batch.statusCode, 422, batch.body);
  assert.equal(batch.json().errors[0].path, '/messages/1/to');
  assert.equal((await send(cloud.id, 'bsuid:US.13491208655302741918')).statusCode, 202, 'the Cloud API reaches bsuid: ids');
  const out = await t.app.inject({ url: '/v1/messages?direction=out', headers: bearer(a.key) });
  assert.equal(out.json().data.length, 1, 'nothing refused was stored');
});
