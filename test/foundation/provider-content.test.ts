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
