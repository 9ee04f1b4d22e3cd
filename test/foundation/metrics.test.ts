import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, bearer, type TestApp } from '../support/app.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

test('/metrics: superadmin only, Prometheus text, counts refused webhooks, no tenant ids or tokens', async () => {
  const a = await t.tenant();
  assert.equal((await t.app.inject({ url: '/metrics' })).statusCode, 401);
  assert.equal((await t.app.inject({ url: '/metrics', headers: bearer(a.key) })).statusCode, 403);
  await t.app.inject({ url: '/v1/tenant', headers: bearer(a.key) });
  const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { metadata: { phone_number_id: '55555' } } }] }] });
  const hook = await t.app.inject({ method: 'POST', url: '/webhooks/cloud-api', headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' }, payload: body });
  assert.equal(hook.statusCode, 404);
  await t.app.inject({ method: 'POST', url: '/webhooks/waha/not-a-real-token-value', headers: { 'content-type': 'application/json' }, payload: '{}' });
  const m = await t.app.inject({ url: '/metrics', headers: bearer(t.adminKey) });
  assert.equal(m.statusCode, 200);
  assert.match(String(m.headers['content-type']), /^text\/plain/);
  assert.match(m.body, /switchboard_inbound_rejects_total\{provider="cloud-api",reason="unroutable"\} [1-9]/);
  assert.match(m.body, /switchboard_http_requests_total\{method="GET",route="\/v1\/tenant",status="200"\} 1/);
  assert.ok(!m.body.includes(a.id), 'no tenant id in metrics');
  assert.ok(!m.body.includes('not-a-real-token-value'), 'no webhook token in metrics');
});
