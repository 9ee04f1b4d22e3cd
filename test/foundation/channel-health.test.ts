import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, bearer, type TestApp } from '../support/app.js';
import { createCloudApiSimulator, type CloudApiSimulator } from '../../src/providers/cloud-api/index.js';
import { runHealthSweep } from '../../src/channels/health.js';

let t: TestApp;
let sim: CloudApiSimulator;
before(async () => {
  t = await startTestApp();
  sim = createCloudApiSimulator({ phones: [{ phoneNumberId: '9100001', wabaId: '9200001', accessToken: 'EAAG-health-token-01' }] });
  await sim.listen();
});
after(async () => {
  await sim.close();
  await t.close();
});

test('the periodic sweep marks a line whose token expired, and clears it once fixed', async () => {
  const a = await t.tenant();
  const ch = await t.app.inject({
    method: 'POST', url: '/v1/channels', headers: bearer(a.key),
    payload: { name: 'l', provider: 'cloud-api', credentials: { phoneNumberId: '9100001', wabaId: '9200001', accessToken: 'EAAG-health-token-01', appSecret: 'health-secret', verifyToken: 'v', graphBaseUrl: sim.url } },
  });
  assert.equal(ch.statusCode, 201, ch.body);
  assert.equal(ch.json().health.ok, true);
  // Just checked: not due yet.
  assert.equal(await runHealthSweep(t.ctx, { olderThanSeconds: 300, limit: 10 }), 0);
  sim.setTokenExpired(true);
  assert.equal(await runHealthSweep(t.ctx, { olderThanSeconds: 0, limit: 10 }), 1);
  const bad = (await t.app.inject({ url: `/v1/channels/${ch.json().id}`, headers: bearer(a.key) })).json();
  assert.equal(bad.health.ok, false);
  assert.equal(bad.health.code, 'channel_credentials_rejected');
  sim.setTokenExpired(false);
  await runHealthSweep(t.ctx, { olderThanSeconds: 0, limit: 10 });
  assert.equal((await t.app.inject({ url: `/v1/channels/${ch.json().id}`, headers: bearer(a.key) })).json().health.ok, true);
});
