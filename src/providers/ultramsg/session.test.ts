import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../../test/support/fixtures.js';
import { ProviderError } from '../../core/errors.js';
import { createUltramsgAdapter } from './adapter.js';
import { mapInstanceStatus, parseMe } from './session.js';
import { createUltramsgSimulator, type UltramsgSimulator } from './simulator.js';
import { INSTANCE, TOKEN, channel, deps } from './test-support.js';

let sim: UltramsgSimulator;
const session = createUltramsgAdapter(deps(1000)).session!;
const ch = () => channel(sim.url);

before(async () => {
  sim = createUltramsgSimulator({ instances: [{ instanceId: INSTANCE, token: TOKEN, status: 'qr', phone: '14155550100' }] });
  await sim.listen();
});
after(() => sim.close());
beforeEach(() => {
  sim.server.clearFaults();
  sim.server.received.length = 0;
});

describe('UltraMsg instance status mapping', () => {
  const cases: [string, string, string][] = [
    ['instance_status_authenticated.json', 'working', 'authenticated/connected'],
    ['instance_status_qr.json', 'scan_qr', 'qr/normal'],
    ['instance_status_standby.json', 'starting', 'standby/normal'],
  ];
  for (const [name, status, providerStatus] of cases) {
    test(`${name} → ${status} (served by the simulator, read by the adapter)`, async () => {
      sim.server.injectFault({ path: '/instance/status', response: { status: 200, json: fixtureJson('ultramsg', name) }, times: 1 });
      // get() also asks instance/me when working; the sim instance is in qr, so me errors → null
      const info = await session.get(ch());
      assert.equal(info.status, status);
      assert.equal(info.providerStatus, providerStatus);
      assert.equal(sim.server.requests('/instance/status')[0]?.query.token, TOKEN);
    });
  }

  test('other words', () => {
    const of = (s: string) => mapInstanceStatus({ status: { accountStatus: { status: s } } }).status;
    assert.equal(of('loading'), 'starting');
    assert.equal(of('disconnected'), 'stopped');
    assert.equal(of('something new'), 'failed');
    assert.throws(() => mapInstanceStatus({ status: 'x' }), ProviderError);
  });

  test('me parsing tolerates the shapes seen in whatsapp-web.js clones', () => {
    assert.deepEqual(parseMe({ id: '14155550100@c.us', name: 'Shop' }), { id: '+14155550100', name: 'Shop' });
    assert.deepEqual(parseMe({ id: { _serialized: '14155550100@c.us' }, pushname: 'P' }), { id: '+14155550100', name: 'P' });
    assert.equal(parseMe({ nothing: true }), null);
  });
});

describe('UltraMsg session lifecycle against the simulator', () => {
  test('create points the instance webhooks at Switchboard with every flag "true"', async () => {
    const info = await session.create(ch(), { webhookUrl: 'https://sb.example/webhooks/ultramsg/tok123' });
    const form = sim.server.requests('/instance/settings').find((r) => r.method === 'POST')?.form;
    assert.deepEqual(form, {
      token: TOKEN,
      webhook_url: 'https://sb.example/webhooks/ultramsg/tok123',
      webhook_message_received: 'true',
      webhook_message_create: 'true',
      webhook_message_ack: 'true',
      webhook_message_download_media: 'true',
    });
    assert.equal(sim.instance(INSTANCE).settings.webhook_url, 'https://sb.example/webhooks/ultramsg/tok123');
    assert.equal(info.status, 'scan_qr');
    // start on an instance already showing a QR must not restart it
    assert.equal(sim.server.requests('/instance/restart').length, 0);
  });

  test('QR as PNG and raw while pairing; none once paired', async () => {
    sim.setStatus(INSTANCE, 'qr');
    const png = await session.qr(ch(), 'png');
    assert.ok(png.png && png.png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])));
    assert.deepEqual(await session.qr(ch(), 'raw'), { raw: `2@sim-${INSTANCE}` });
    sim.setStatus(INSTANCE, 'authenticated');
    await assert.rejects(session.qr(ch(), 'png'), ProviderError);
  });

  test('paired: get includes me; stop logs out (back to QR); start on a stopped line restarts', async () => {
    sim.setStatus(INSTANCE, 'authenticated');
    const info = await session.get(ch());
    assert.deepEqual(info, { status: 'working', providerStatus: 'authenticated/connected', me: { id: '+14155550100', name: 'Simulated line' } });
    const stopped = await session.stop(ch());
    assert.equal(stopped.status, 'scan_qr');
    assert.equal(sim.server.requests('/instance/logout').length, 1);
    sim.setStatus(INSTANCE, 'disconnected');
    const started = await session.start(ch());
    assert.equal(sim.server.requests('/instance/restart').length, 1);
    assert.equal(started.status, 'scan_qr');
  });

  test('restart keeps a paired line paired; logout on an unpaired line is session_not_ready', async () => {
    sim.setStatus(INSTANCE, 'authenticated');
    assert.equal((await session.restart(ch())).status, 'working');
    sim.setStatus(INSTANCE, 'qr');
    await assert.rejects(session.logout(ch()), (e: unknown) => e instanceof ProviderError && e.kind === 'session_not_ready');
  });

  test('delete logs out (tolerating an unpaired line) and clears the webhook', async () => {
    sim.setStatus(INSTANCE, 'qr');
    await session.delete(ch());
    const s = sim.instance(INSTANCE).settings;
    assert.equal(s.webhook_url, '');
    assert.equal(s.webhook_message_received, 'false');
    assert.equal(s.webhook_message_ack, 'false');
  });

  test('bad credentials surface as typed errors on session calls too', async () => {
    await assert.rejects(session.get(channel(sim.url, { token: 'bad' })), (e: unknown) => e instanceof ProviderError && e.kind === 'unauthorized');
    await assert.rejects(session.me(channel(sim.url, { instanceId: '5' })), (e: unknown) => e instanceof ProviderError && e.kind === 'not_found');
  });
});
