/**
 * A tenant's webhook hosts are resolved off Node's thread pool (decision 059). With `dns.lookup`,
 * getaddrinfo held one of libuv's four threads per lookup, and a timed-out request did not free it:
 * one tenant's endpoints on a name whose DNS never answers took all four for ~20 s at a time, and
 * another tenant's delivery to a healthy receiver timed out behind them and was recorded as failed
 * (review of 2026-12-01, shown with /etc/resolv.conf pointed at a server that swallows queries).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { closeApp, owner, until } from './support.js';
import { emitEvent } from '../../src/events/emit.js';
import { deliverDue, deliveriesIdle } from '../../src/events/deliver.js';
import { asTenantId, withTenant } from '../../src/db/db.js';
import { createResolve } from '../../src/core/egress.js';
import { startTestDns, type TestDns } from '../support/dns.js';

/** A DNS server that takes every query and answers none. */
let blackhole: TestDns;
let dns = '';
let t: TestApp;
const hits: number[] = [];
const ok = http.createServer((req, res) => {
  hits.push(Date.now());
  req.resume();
  res.writeHead(200).end();
});

before(async () => {
  blackhole = await startTestDns({ silent: true });
  dns = blackhole.server;
  await new Promise<void>((r) => ok.listen(0, '127.0.0.1', r));
  t = await startTestApp({ EGRESS_DNS_SERVERS: dns });
});
after(async () => {
  await deliveriesIdle(t.ctx);
  await closeApp(t);
  await new Promise((r) => ok.close(r));
  await blackhole.close();
});

test("one tenant's endpoints on names whose DNS never answers do not hold back another tenant's delivery", { timeout: 60_000 }, async () => {
  const [a, b] = [await t.tenant(), await t.tenant()];
  const endpoint = async (key: string, url: string) => {
    const r = await t.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: bearer(key), payload: { url, event_types: ['*'] } });
    assert.equal(r.statusCode, 201, r.body);
  };
  for (let i = 0; i < 8; i++) await endpoint(a.key, `http://dead${i}.blackhole.test/hook`);
  await endpoint(b.key, `http://localhost:${(ok.address() as AddressInfo).port}/hook`);
  for (let i = 0; i < 2; i++) await withTenant(t.ctx.db, asTenantId(a.id), (tx) => emitEvent(tx, { tenantId: a.id, type: 'conversation.updated', data: {} }));
  while ((await deliverDue(t.ctx)) > 0);
  await new Promise((r) => setTimeout(r, 100)); // A's sixteen lookups are waiting on the silent server
  await withTenant(t.ctx.db, asTenantId(b.id), (tx) => emitEvent(tx, { tenantId: b.id, type: 'conversation.updated', data: {} }));
  const start = Date.now();
  while ((await deliverDue(t.ctx)) > 0);
  await until("tenant B's delivery", () => hits.length > 0, 5_000);
  assert.ok(hits[0]! - start < 1_000, `tenant B's delivery took ${hits[0]! - start} ms`);
  // A's own attempts fail on the name, bounded by the resolver's timeout (2 s × 2 tries), not the request's.
  const attempted = async () => (await owner(t).selectFrom('event_deliveries').select(['last_error']).where('tenant_id', '=', a.id).where('attempts', '>', 0).execute()).map((r) => r.last_error);
  await until("tenant A's first attempts", async () => (await attempted()).length > 0, 10_000);
  for (const e of await attempted()) assert.match(String(e), /^the host dead\d\.blackhole\.test does not resolve \(ETIMEOUT\)$/);
});

test('the resolver answers localhost and /etc/hosts names without asking DNS, and gives up on a silent server within its deadline', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sb-hosts-'));
  try {
    const hostsFile = join(dir, 'hosts');
    await writeFile(hostsFile, '# comment\n10.1.2.3 waha.internal waha # trailing\nfd00::5 waha.internal\n');
    // Two silent servers: c-ares would try each twice, doubling its timeout (~12 s); the deadline holds.
    const second = await startTestDns({ silent: true });
    const resolve = createResolve({ servers: [dns, second.server], hostsFile, resolvConf: join(dir, 'none'), deadlineMs: 1_500 });
    assert.deepEqual(await resolve('WAHA.internal.'), [{ address: '10.1.2.3', family: 4 }, { address: 'fd00::5', family: 6 }]);
    assert.deepEqual(await resolve('waha'), [{ address: '10.1.2.3', family: 4 }]);
    assert.deepEqual((await resolve('localhost')).map((x) => x.address), ['127.0.0.1', '::1']);
    const start = Date.now();
    await assert.rejects(resolve('nowhere.blackhole.test'), (e: NodeJS.ErrnoException) => e.code === 'ETIMEOUT');
    assert.ok(Date.now() - start < 2_500, `${Date.now() - start} ms`);
    await second.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the resolver applies resolv.conf's search list and ndots, as getaddrinfo does", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sb-resolv-'));
  const server = await startTestDns({ zone: { 'waha.corp.test': '10.9.8.7', 'api.example.test': '10.1.1.1', 'api.example.test.corp.test': '10.6.6.6' } });
  try {
    const resolvConf = join(dir, 'resolv.conf');
    await writeFile(resolvConf, 'nameserver 10.255.255.53\nsearch corp.test other.test\noptions ndots:1 timeout:1\n');
    const resolve = createResolve({ servers: [server.server], hostsFile: join(dir, 'none'), resolvConf });
    // Fewer dots than ndots: the search list first.
    assert.deepEqual(await resolve('waha'), [{ address: '10.9.8.7', family: 4 }]);
    // At least ndots dots: the name as written first.
    assert.deepEqual(await resolve('api.example.test'), [{ address: '10.1.1.1', family: 4 }]);
    // A trailing dot: only the name as written.
    await assert.rejects(resolve('waha.'), (e: NodeJS.ErrnoException) => e.code === 'ENOTFOUND');
    await assert.rejects(resolve('nothing'), (e: NodeJS.ErrnoException) => e.code === 'ENOTFOUND');
    assert.deepEqual(
      server.queries.filter((q) => q.endsWith(' A')).map((q) => q.slice(0, -2)),
      ['waha.corp.test', 'api.example.test', 'waha', 'nothing.corp.test', 'nothing.other.test', 'nothing'],
    );
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
