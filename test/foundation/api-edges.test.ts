/**
 * Edges of the API surface found in a review (2026-12-01): each answered 500, refused every valid
 * request, or was documented wrongly.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let a: { id: string; slug: string; key: string };
before(async () => {
  t = await startTestApp();
  a = await t.tenant();
});
after(() => t.close());

test('an API key expiring after year 9999 is refused (it was stored, and every answer naming it was a 500)', async () => {
  for (const expires_at of ['9999-12-31T23:00:00-05:00', '9999-12-31T23:59:60Z']) {
    const r = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(a.key), payload: { name: 'far', expires_at } });
    assert.equal(r.statusCode, 400, `${expires_at}: ${r.body}`);
    assert.equal(r.json().code, 'validation_failed');
  }
  const ok = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(a.key), payload: { name: 'late', expires_at: '9999-12-31T23:59:59Z' } });
  assert.equal(ok.statusCode, 201, ok.body);
  const list = await t.app.inject({ url: '/v1/api-keys', headers: bearer(a.key) });
  assert.equal(list.statusCode, 200, list.body);
  assert.ok(list.json().data.every((k: { name: string }) => k.name !== 'far'));
});

test('POST /admin/plans creates a plan; unknown fields are refused', async () => {
  const admin = bearer(t.adminKey);
  const body = { id: 'gold', name: 'Gold', messages_per_day: 10, messages_per_month: null, max_channels: 3, api_requests_per_minute: null };
  const r = await t.app.inject({ method: 'POST', url: '/admin/plans', headers: admin, payload: body });
  assert.equal(r.statusCode, 201, r.body);
  assert.equal(r.json().id, 'gold');
  assert.equal((await t.app.inject({ method: 'POST', url: '/admin/plans', headers: admin, payload: { ...body, id: 'silver', extra: 1 } })).statusCode, 400);
});

test('integers past an integer column are a 400, not a 500 from the database', async () => {
  const admin = bearer(t.adminKey);
  for (const payload of [{ max_channels: 2147483648 }, { messages_per_day: 1e20 }]) {
    const r = await t.app.inject({ method: 'PATCH', url: '/admin/plans/free', headers: admin, payload });
    assert.equal(r.statusCode, 400, r.body);
  }
  const ch = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(a.key), payload: { name: 'x', provider: 'cloud-api', credentials: {}, daily_limit: 2147483648 } });
  assert.equal(ch.statusCode, 400, ch.body);
  assert.match(ch.body, /daily_limit/);
});

test('a path that exists under other methods answers 405 with Allow; an unknown path 404', async () => {
  const r = await t.app.inject({ method: 'PUT', url: '/v1/tenant', headers: bearer(a.key) });
  assert.equal(r.statusCode, 405, r.body);
  assert.equal(r.json().code, 'method_not_allowed');
  assert.deepEqual(String(r.headers.allow).split(', ').sort(), ['GET', 'PATCH']);
  const unknown = await t.app.inject({ method: 'PUT', url: '/v1/nothing-here', headers: bearer(a.key) });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().code, 'route_not_found');
});

test('OpenAPI: admin routes name their security; the Cloud API handshake has real query parameters; problem answers the server gives are documented', async () => {
  const doc = (await t.app.inject({ url: '/openapi.json' })).json();
  const auditLog = doc.paths['/admin/audit-log'].get;
  assert.deepEqual(auditLog.security, [{ adminKey: [] }, { session: [] }]);
  const params = doc.paths['/webhooks/cloud-api'].get.parameters.map((p: { name: string; schema: unknown }) => {
    assert.equal(typeof p.schema, 'object', `${p.name} has a Schema Object`);
    return p.name;
  });
  assert.deepEqual(params.sort(), ['hub.challenge', 'hub.mode', 'hub.verify_token']);
  const send = doc.paths['/v1/messages'].post.responses;
  for (const code of ['413', '415', '503']) assert.ok(send[code], `POST /v1/messages documents ${code}`);
});

test('an empty body sent as application/json: nothing on a route without a body, no fields where all are optional, malformed where one is required; text/plain is a 415', async () => {
  const ep = await t.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: bearer(a.key), payload: { url: 'https://hooks.example.com/x', event_types: ['*'] } });
  assert.equal(ep.statusCode, 201, ep.body);
  const rotate = await t.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ep.json().id}/rotate-secret`, headers: { ...bearer(a.key), 'content-type': 'application/json' }, body: '' });
  assert.equal(rotate.statusCode, 200, rotate.body);
  const logout = await t.app.inject({ method: 'POST', url: '/auth/logout', headers: { 'content-type': 'application/json' }, body: '' });
  assert.equal(logout.statusCode, 204, logout.body);
  const send = await t.app.inject({ method: 'POST', url: '/v1/messages', headers: { ...bearer(a.key), 'content-type': 'application/json' }, body: '' });
  assert.equal(send.statusCode, 400);
  assert.equal(send.json().code, 'malformed_json');
  const plain = await t.app.inject({ method: 'POST', url: '/v1/messages', headers: { ...bearer(a.key), 'content-type': 'text/plain' }, body: '{}' });
  assert.equal(plain.statusCode, 415, plain.body);
  assert.equal(plain.json().code, 'unsupported_media_type');
});

test('every validation_failed answer lists errors[], also those a handler finds (a bad cursor)', async () => {
  const r = await t.app.inject({ url: '/v1/conversations?cursor=not-a-cursor', headers: bearer(a.key) });
  assert.equal(r.statusCode, 400, r.body);
  assert.equal(r.json().code, 'validation_failed');
  assert.ok(Array.isArray(r.json().errors) && r.json().errors.length > 0, r.body);
});

test('OpenAPI: every operation has a unique operationId', async () => {
  const doc = (await t.app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { operationId?: string }>> };
  const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
  assert.ok(ids.length > 40);
  assert.ok(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]+$/.test(id)), ids.join(', '));
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(doc.paths['/v1/conversations/{conversationId}']!.get!.operationId, 'getConversationsByConversationId');
});

test('a wrong scope is one error naming the allowed values', async () => {
  const r = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(a.key), payload: { name: 'x', scopes: ['nope'] } });
  assert.equal(r.statusCode, 400);
  const errors = r.json().errors as { path: string; message: string }[];
  assert.equal(errors.length, 1, r.body);
  assert.equal(errors[0]!.path, '/scopes/0');
  assert.match(errors[0]!.message, /allowed values/);
});
