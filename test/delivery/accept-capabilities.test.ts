/**
 * What a line cannot send is refused at accept with a typed 422, never queued to fail after the
 * 202 (review of 2026-12-01): an UltraMsg line took `@lid` recipients, reaction removals, several
 * contacts without numbers and location texts past UltraMsg's 300 characters, and failed each at
 * send; a sandbox line took template names and languages, and reactions, the sandbox always
 * refuses. And a Cloud API group whose id does not decode (kept opaque) could not be replied to.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { createUltramsgSimulator, type UltramsgSimulator } from '../../src/providers/ultramsg/index.js';
import { groupAddress } from '../../src/providers/cloud-api/addressing.js';
import { closeApp } from '../inbound/support.js';
import { send, setup, text, type Setup } from './helpers.js';

let t: TestApp;
let sim: UltramsgSimulator;
let cloud: Setup;
before(async () => {
  t = await startTestApp();
  sim = createUltramsgSimulator({ instances: [{ instanceId: 'instance3101', token: 'tok-a', phone: '15550003101' }] });
  await sim.listen();
  cloud = await setup({ channels: 1 });
});
after(async () => {
  await sim.close();
  await closeApp(t);
  await cloud.close();
});

const channel = async (key: string, provider: string, credentials: object) => {
  const r = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(key), payload: { name: provider, provider, credentials } });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().id as string;
};

it('UltraMsg: recipients and contents it refuses are 422 at accept; what it takes is accepted', async () => {
  const tenant = await t.tenant();
  const ch = await channel(tenant.key, 'ultramsg', { instanceId: 'instance3101', token: 'tok-a', baseUrl: sim.url });
  const refused: [string, { to: string; content: unknown }, string, RegExp][] = [
    ['an @lid recipient', { to: '123456789012345@lid', content: { type: 'text', text: 'hi' } }, 'unsupported_recipient', /phone numbers and groups only/],
    ['a reaction removal', { to: '+14155550101', content: { type: 'reaction', messageId: 'true_14155550101@c.us_ABC', emoji: '' } }, 'unsupported_content', /cannot remove a reaction/],
    ['several contacts without numbers', { to: '+14155550102', content: { type: 'contacts', contacts: [{ name: { formatted: 'A' } }, { name: { formatted: 'B' } }] } }, 'unsupported_content', /each needs a phone number/],
    ['a location text past 300 characters', { to: '+14155550103', content: { type: 'location', latitude: 1, longitude: 2, name: 'n', address: 'x'.repeat(400) } }, 'unsupported_content', /at most 300 characters/],
  ];
  for (const [what, body, code, detail] of refused) {
    const r = await send(t, tenant.key, { channel_id: ch, ...body });
    assert.equal(r.statusCode, 422, `${what}: ${r.body}`);
    assert.equal(r.json().code, code, what);
    assert.match(r.body, detail, what);
  }
  for (const body of [
    { to: '+14155550104', content: { type: 'reaction', messageId: 'true_14155550101@c.us_ABC', emoji: '👍' } },
    { to: '120363404882958348@g.us', content: { type: 'text', text: 'hi group' } },
    { to: '+14155550105', content: { type: 'contacts', contacts: [{ name: { formatted: 'A' }, phones: [{ phone: '+1 415 555 0106' }] }, { name: { formatted: 'B' }, phones: [{ phone: '+14155550107' }] }] } },
    { to: '+14155550108', content: { type: 'location', latitude: 1, longitude: 2, name: 'Office', address: 'Main St 1' } },
  ]) {
    const r = await send(t, tenant.key, { channel_id: ch, ...body });
    assert.equal(r.statusCode, 202, r.body);
  }
});

it('sandbox: template names, languages and reactions the sandbox refuses are 422 at accept', async () => {
  const tenant = await t.tenant();
  const ch = await channel(tenant.key, 'sandbox', {});
  for (const content of [
    { type: 'template', name: 'Order Shipped', language: 'en_US' },
    { type: 'template', name: 'order_shipped', language: 'English' },
    { type: 'reaction', messageId: 'wamid.X', emoji: '😀'.repeat(11) },
  ]) {
    const r = await send(t, tenant.key, { channel_id: ch, to: '+14155550110', content });
    assert.equal(r.statusCode, 422, r.body);
    assert.equal(r.json().code, 'unsupported_content');
  }
  const ok = await send(t, tenant.key, { channel_id: ch, to: '+14155550110', content: { type: 'template', name: 'order_shipped', language: 'en_US' } });
  assert.equal(ok.statusCode, 202, ok.body);
});

it('Cloud API: a group whose id did not decode (kept opaque) can be replied to', async () => {
  const peer = groupAddress('QUJDREVGR0hJSktMTU5PUA');
  assert.equal(peer, 'QUJDREVGR0hJSktMTU5PUA@g.us');
  const r = await send(cloud.t, cloud.tenant.key, text(cloud.channels[0]!, peer));
  assert.equal(r.statusCode, 202, r.body);
});
