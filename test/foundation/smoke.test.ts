import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, bearer, type TestApp } from '../support/app.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

test('health, openapi and an admin-created tenant with a working key', async () => {
  assert.equal((await t.app.inject({ url: '/healthz' })).statusCode, 200);
  assert.equal((await t.app.inject({ url: '/readyz' })).json().status, 'ready');
  const spec = (await t.app.inject({ url: '/openapi.json' })).json();
  assert.equal(spec.openapi, '3.1.0');
  // Who may call what: tenant routes take a tenant credential and name their scope, public routes
  // need nothing, admin routes keep their own; error answers are problem documents.
  const list = spec.paths['/v1/conversations'].get;
  assert.deepEqual(list.security, [{ apiKey: [] }, { apiKeyHeader: [] }, { session: [] }]);
  assert.equal(list['x-required-scope'], 'conversations:read');
  assert.match(list.description, /conversations:read/);
  assert.ok(list.responses['400'].content['application/problem+json'], JSON.stringify(list.responses['400']));
  assert.equal(list.responses['400'].content['application/json'], undefined);
  assert.ok(list.responses['200'].content['application/json']);
  assert.deepEqual(spec.paths['/webhooks/cloud-api'].post.security, []);
  assert.deepEqual(spec.paths['/admin/tenants'].get.security, [{ adminKey: [] }, { session: [] }]);
  const docs = await t.app.inject({ url: '/docs/' });
  assert.equal(docs.statusCode, 200, 'the interactive docs are public');
  assert.match(docs.body, /swagger/i);
  const a = await t.tenant('acme');
  const me = await t.app.inject({ url: '/v1/tenant', headers: bearer(a.key) });
  assert.equal(me.statusCode, 200, me.body);
  assert.equal(me.json().slug, 'acme');
});
