import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, bearer, type TestApp } from '../support/app.js';
import { createCloudApiSimulator, type CloudApiSimulator } from '../../src/providers/cloud-api/index.js';
import { sampleBody } from '../support/openapi-samples.js';
import { createWahaSimulator, type WahaSimulator } from '../../src/providers/waha/index.js';

/**
 * BOLA (OWASP API1): tenant B's credential on any of tenant A's resources must answer 404, on every
 * tenant-scoped route. Routes are enumerated from /openapi.json, so a route added later is checked
 * too; a path parameter with no fixture below fails the test instead of being skipped.
 */
let t: TestApp;
let sim: CloudApiSimulator;
let waha: WahaSimulator;
const ids: Record<string, string> = {};
let a: { id: string; key: string };
let b: { id: string; key: string };

before(async () => {
  t = await startTestApp();
  sim = createCloudApiSimulator({ phones: [{ phoneNumberId: '1000001', wabaId: '2000001', accessToken: 'EAAG-token-a-123456' }] });
  await sim.listen();
  a = await t.tenant();
  b = await t.tenant();
  const ch = await t.app.inject({
    method: 'POST', url: '/v1/channels', headers: bearer(a.key),
    payload: { name: 'A line', provider: 'cloud-api', credentials: { phoneNumberId: '1000001', wabaId: '2000001', accessToken: 'EAAG-token-a-123456', appSecret: 'app-secret-a', verifyToken: 'verify-a', graphBaseUrl: sim.url } },
  });
  assert.equal(ch.statusCode, 201, ch.body);
  ids.channelId = ch.json().id;
  // The session routes need a line that has a session: a WAHA one (its QR is waiting to be scanned).
  waha = createWahaSimulator({ apiKey: 'waha-key-0123456789' });
  await waha.listen();
  const w = await t.app.inject({
    method: 'POST', url: '/v1/channels', headers: bearer(a.key),
    payload: { name: 'A WAHA line', provider: 'waha', credentials: { baseUrl: waha.url, apiKey: 'waha-key-0123456789', sessionName: 'a-line', webhookHmacKey: 'hmac-key-0123456789' } },
  });
  assert.equal(w.statusCode, 201, w.body);
  ids.sessionChannelId = w.json().id;
  ids.action = 'restart';
  const k = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(a.key), payload: { name: 'second' } });
  ids.keyId = k.json().id;
  const m = await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(a.key), payload: { email: 'agent@a.example', role: 'agent', password: 'correct horse battery' } });
  ids.userId = m.json().user_id;
  await extraFixtures(t, a, ids);
});
after(async () => {
  await sim.close();
  await waha.close();
  await t.close();
});

/** Fixtures for resources other features add (messages, conversations, …). */
async function extraFixtures(app: TestApp, owner: { key: string }, out: Record<string, string>): Promise<void> {
  const { tenantResourceFixtures } = await import('../support/tenant-fixtures.js');
  Object.assign(out, await tenantResourceFixtures(app, owner, out));
}

test('every tenant-scoped route answers 404 to another tenant', async () => {
  const spec = (await t.app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: unknown }> } }>> };
  let checked = 0;
  let collections = 0;
  for (const [path, ops] of Object.entries(spec.paths)) {
    if (!path.startsWith('/v1/')) continue;
    const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    for (const [method, op] of Object.entries(ops)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      if (params.length === 0) {
        // Server-Sent Event streams never end; their isolation is tested in src/events (stream tests).
        if (JSON.stringify(op).includes('text/event-stream')) continue;
        if (method === 'get') {
          // Collections: B's listing never contains A's ids.
          const res = await t.app.inject({ method: 'GET', url: path, headers: bearer(b.key) });
          if (res.statusCode === 200) {
            for (const id of Object.values(ids)) assert.ok(!res.body.includes(id), `${path} leaks ${id} to another tenant`);
          }
          collections += 1;
        }
        continue;
      }
      let url = path;
      for (const p of params) {
        const id = p === 'channelId' && path.includes('/session') ? ids.sessionChannelId : p === 'messageId' && path.endsWith('/media') ? ids.mediaMessageId : ids[p];
        assert.ok(id, `no fixture for path parameter {${p}} of ${method.toUpperCase()} ${path}: add one in test/support/tenant-fixtures.ts`);
        url = url.replace(`{${p}}`, id);
      }
      const schema = op.requestBody?.content?.['application/json']?.schema;
      const payload = schema ? sampleBody(method, path, schema) : undefined;
      const res = await t.app.inject({ method: method.toUpperCase() as 'GET', url, headers: bearer(b.key), ...(payload !== undefined ? { payload: payload as object } : {}) });
      assert.equal(res.statusCode, 404, `${method.toUpperCase()} ${path} answered ${res.statusCode} to another tenant: ${res.body}`);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(res.json().code, 'not_found');
      if (method === 'get') {
        const own = await t.app.inject({ method: 'GET', url, headers: bearer(a.key) });
        // A file that is a plain link is answered with a redirect to it.
        assert.equal(own.statusCode, path.endsWith('/media') ? 302 : 200, `the owner cannot read ${url}: the fixture is not real (${own.body})`);
      }
      checked += 1;
    }
  }
  console.log(`cross-tenant check: ${checked} routes with ids answered 404, ${collections} collections leaked nothing`);
  assert.ok(checked >= 8, `only ${checked} routes checked`);
});

test('the channel really belongs to A and B cannot see it in its list', async () => {
  const listA = (await t.app.inject({ url: '/v1/channels', headers: bearer(a.key) })).json();
  const listB = (await t.app.inject({ url: '/v1/channels', headers: bearer(b.key) })).json();
  assert.equal(listA.data.length, 2);
  assert.equal(listB.data.length, 0);
});
