/**
 * Channels under concurrency and hostile PATCHes (a review of 2026-12-01): max_channels held by
 * concurrent creates, stored secrets never sent to a new address, concurrent credential PATCHes never
 * silently lost, a health check racing a delete a 404.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearer } from '../support/app.js';
import { setup, type Setup } from '../delivery/helpers.js';
import { asTenantId, withTenant } from '../../src/db/db.js';
import { openCredentials } from '../../src/channels/service.js';
import { runHealthSweep } from '../../src/channels/health.js';

let s: Setup;
/** A Graph API stand-in that answers the connection test after 200 ms, and records what it got. */
const seen: { url: string; auth: string | undefined }[] = [];
const slow = http.createServer((req, res) => {
  seen.push({ url: String(req.url), auth: req.headers.authorization });
  setTimeout(() => {
    const id = /\/v[\d.]+\/(\d+)/.exec(req.url ?? '')?.[1];
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ id, display_phone_number: '1', verified_name: 'x' }));
  }, 200);
});
let slowUrl: string;
before(async () => {
  s = await setup({ channels: 0 });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
});
after(async () => {
  slow.closeAllConnections();
  await new Promise((r) => slow.close(r));
  await s.close();
});

const create = (key: string, i: number, extra: Record<string, unknown> = {}) =>
  s.t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(key), payload: { name: `line ${i}`, provider: 'cloud-api', credentials: { ...s.sim.credentials(0), phoneNumberId: String(777000000000 + i), graphBaseUrl: slowUrl, ...extra } } });

test('three channels created at once under max_channels 1: one gets in', async () => {
  const tn = await s.t.tenant(undefined, 'unlimited');
  const admin = bearer(s.t.adminKey);
  assert.equal((await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${tn.id}`, headers: admin, payload: { limits_override: { max_channels: 1 } } })).statusCode, 200);
  const answers = await Promise.all([0, 1, 2].map((i) => create(tn.key, i)));
  assert.deepEqual(answers.map((r) => r.statusCode).sort(), [201, 422, 422], answers.map((r) => r.body).join('\n'));
  const list = await s.t.app.inject({ url: '/v1/channels', headers: bearer(tn.key) });
  assert.equal(list.json().data.length, 1);
});

test('pointing a channel at a new address needs its secrets sent again: the stored ones are never sent there', async () => {
  const made = await create(s.tenant.key, 3);
  assert.equal(made.statusCode, 201, made.body);
  const id = made.json().id as string;
  const thief = http.createServer((req, res) => {
    thiefSaw.push(String(req.headers.authorization));
    res.setHeader('content-type', 'application/json');
    res.end('{"id":"x"}');
  });
  const thiefSaw: string[] = [];
  await new Promise<void>((r) => thief.listen(0, '127.0.0.1', r));
  try {
    const to = `http://127.0.0.1:${(thief.address() as AddressInfo).port}`;
    const r = await s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${id}`, headers: bearer(s.tenant.key), payload: { credentials: { graphBaseUrl: to } } });
    assert.equal(r.statusCode, 400, r.body);
    assert.deepEqual(r.json().errors.map((e: { path: string }) => e.path).sort(), ['/credentials/accessToken', '/credentials/appSecret', '/credentials/verifyToken']);
    assert.deepEqual(thiefSaw, [], 'nothing reached the new address');
    // The same with the masked values sent back: still refused.
    const masked = await s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${id}`, headers: bearer(s.tenant.key), payload: { credentials: { graphBaseUrl: to, accessToken: '********', appSecret: '********', verifyToken: '********' } } });
    assert.equal(masked.statusCode, 400, masked.body);
    // With every secret given, the move is the caller's own credentials going where they say.
    const ok = await s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${id}`, headers: bearer(s.tenant.key), payload: { credentials: { graphBaseUrl: to, accessToken: 'EAAG-their-own-token', appSecret: 'their-own-app-secret', verifyToken: 'their-own-verify-token' } } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(thiefSaw, ['Bearer EAAG-their-own-token']);
  } finally {
    thief.closeAllConnections();
    await new Promise((r) => thief.close(r));
  }
});

test('two credential PATCHes at once: one is written, the other is a 409, never silently lost', async () => {
  const made = await create(s.tenant.key, 4);
  const id = made.json().id as string;
  const patch = (credentials: Record<string, unknown>) => s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${id}`, headers: bearer(s.tenant.key), payload: { credentials } });
  const answers = await Promise.all([patch({ verifyToken: 'NEW-verify-token' }), patch({ appSecret: 'NEW-app-secret' })]);
  assert.deepEqual(answers.map((r) => r.statusCode).sort(), [200, 409], answers.map((r) => r.body).join('\n'));
  const row = await withTenant(s.t.ctx.db, asTenantId(s.tenant.id), (tx) => tx.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
  const stored = openCredentials(s.t.ctx, row as never);
  const won = answers[0]!.statusCode === 200 ? { verifyToken: 'NEW-verify-token' } : { appSecret: 'NEW-app-secret' };
  for (const [k, v] of Object.entries(won)) assert.equal(stored[k], v);
});

test('a connection test racing the channel\'s delete is a 404, not a 500', async () => {
  const made = await create(s.tenant.key, 5);
  const id = made.json().id as string;
  const testing = s.t.app.inject({ method: 'POST', url: `/v1/channels/${id}/test`, headers: bearer(s.tenant.key) });
  await new Promise((r) => setTimeout(r, 80));
  assert.equal((await s.t.app.inject({ method: 'DELETE', url: `/v1/channels/${id}`, headers: bearer(s.tenant.key) })).statusCode, 204);
  const r = await testing;
  assert.equal(r.statusCode, 404, r.body);
});

test("another tenant's line is not revealed to made-up credentials: they are rejected first, before whether the line is taken", async () => {
  const [x, y] = [await s.t.tenant(undefined, 'unlimited'), await s.t.tenant(undefined, 'unlimited')];
  const own = await s.t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(x.key), payload: { name: 'x', provider: 'cloud-api', credentials: s.sim.credentials(0) } });
  assert.equal(own.statusCode, 201, own.body);
  const probe = await s.t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(y.key), payload: { name: 'y', provider: 'cloud-api', credentials: { ...s.sim.credentials(0), accessToken: 'EAAG-made-up-token' } } });
  assert.equal(probe.statusCode, 422, probe.body);
  assert.equal(probe.json().code, 'channel_credentials_rejected');
});

test('the health sweep goes on past a channel deleted while it was tested', async () => {
  const tn = await s.t.tenant(undefined, 'unlimited');
  const [gone, next] = [(await create(tn.key, 20)).json().id as string, (await create(tn.key, 21)).json().id as string];
  // These two are the most overdue, in this order.
  await s.t.asOwner(async (o) => {
    await o.query(`update channels set health = jsonb_set(health, '{checked_at}', '"2000-01-01T00:00:00Z"') where id = $1`, [gone]);
    await o.query(`update channels set health = jsonb_set(health, '{checked_at}', '"2000-01-02T00:00:00Z"') where id = $1`, [next]);
  });
  const before = seen.length;
  const sweep = runHealthSweep(s.t.ctx, { olderThanSeconds: 3600, limit: 2 });
  while (seen.length === before) await new Promise((r) => setTimeout(r, 5));
  assert.equal((await s.t.app.inject({ method: 'DELETE', url: `/v1/channels/${gone}`, headers: bearer(tn.key) })).statusCode, 204);
  assert.equal(await sweep, 2);
  const checked = (await s.t.app.inject({ url: `/v1/channels/${next}`, headers: bearer(tn.key) })).json().health.checked_at as string;
  assert.ok(checked > '2000-01-02T00:00:00Z', `the next channel was checked in the same round (${checked})`);
});
