import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { InjectOptions } from 'fastify';
import { startTestApp, bearer, type TestApp } from '../support/app.js';

let t: TestApp;
let key: string;
before(async () => {
  t = await startTestApp({ BODY_LIMIT_BYTES: '65536' });
  key = (await t.tenant()).key;
});
after(() => t.close());

async function expect4xx(req: InjectOptions, status: number, code: string) {
  const r = await t.app.inject(req);
  assert.equal(r.statusCode, status, `${code}: ${r.body}`);
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  assert.equal(r.json().code, code);
}

test('malformed JSON → 400 malformed_json', () =>
  expect4xx({ method: 'POST', url: '/v1/api-keys', headers: { ...bearer(key), 'content-type': 'application/json' }, payload: '{"name": ' }, 400, 'malformed_json'));
test('empty JSON body → 400', () =>
  expect4xx({ method: 'POST', url: '/v1/api-keys', headers: { ...bearer(key), 'content-type': 'application/json' }, payload: '' }, 400, 'malformed_json'));
test('wrong content type → 415', () =>
  expect4xx({ method: 'POST', url: '/v1/api-keys', headers: { ...bearer(key), 'content-type': 'text/xml' }, payload: '<x/>' }, 415, 'unsupported_media_type'));
test('oversized body → 413', () =>
  expect4xx({ method: 'POST', url: '/v1/api-keys', headers: { ...bearer(key), 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x'.repeat(70_000) }) }, 413, 'payload_too_large'));
test('schema violations list every problem with its path', async () => {
  const r = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(key), payload: { provider: 'telegram', extra: 1 } });
  assert.equal(r.statusCode, 400);
  assert.equal(r.json().code, 'validation_failed');
  assert.ok(r.json().errors.length >= 2, r.body);
});
test('provider credentials are validated against the provider schema', async () => {
  const r = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(key), payload: { name: 'x', provider: 'cloud-api', credentials: { phoneNumberId: 'abc' } } });
  assert.equal(r.statusCode, 400);
  assert.ok(r.json().errors.some((e: { path: string }) => e.path.startsWith('/credentials')), r.body);
});
test('bad ids and cursors → 400, unknown routes → 404 problem', async () => {
  await expect4xx({ url: '/v1/channels/not-an-id', headers: bearer(key) }, 400, 'validation_failed');
  await expect4xx({ url: '/v1/channels?cursor=%%%', headers: bearer(key) }, 400, 'validation_failed');
  await expect4xx({ url: '/v1/nope', headers: bearer(key) }, 404, 'route_not_found');
});
test('private provider URLs are refused unless the operator allows them', async () => {
  const strict = await startTestApp({ EGRESS_ALLOW_PRIVATE: 'false' });
  try {
    const k = (await strict.tenant()).key;
    const r = await strict.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(k), payload: { name: 'x', provider: 'waha', credentials: { baseUrl: 'http://169.254.169.254', apiKey: 'k'.repeat(20), sessionName: 'default', webhookHmacKey: 'h'.repeat(20) } } });
    assert.equal(r.statusCode, 422, r.body);
    assert.equal(r.json().code, 'egress_denied');
  } finally {
    await strict.close();
  }
});
