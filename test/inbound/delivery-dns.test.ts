/**
 * A tenant's webhook hosts are resolved off Node's thread pool (decision 059). With `dns.lookup`,
 * getaddrinfo held one of libuv's four threads per lookup, and a timed-out request did not free it:
 * one tenant's endpoints on a name whose DNS never answers took all four for ~20 s at a time, and
 * another tenant's delivery to a healthy receiver timed out behind them and was recorded as failed
 * (review of 2026-12-01, shown with /etc/resolv.conf pointed at a server that swallows queries).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
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

/** A DNS server that takes every query and answers none. */
const blackhole = dgram.createSocket('udp4');
let dns = '';
let t: TestApp;
const hits: number[] = [];
const ok = http.createServer((req, res) => {
  hits.push(Date.now());
  req.resume();
  res.writeHead(200).end();
});

before(async () => {
  await new Promise<void>((r) => blackhole.bind(0, '127.0.0.1', r));
  dns = `127.0.0.1:${blackhole.address().port}`;
  await new Promise<void>((r) => ok.listen(0, '127.0.0.1', r));
  t = await startTestApp({ EGRESS_DNS_SERVERS: dns });
});
after(async () => {
  await deliveriesIdle(t.ctx);
  await closeApp(t);
  await new Promise((r) => ok.close(r));
  blackhole.close();
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

test('the resolver answers localhost and /etc/hosts names without asking DNS, and gives up on a silent server', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sb-hosts-'));
  try {
    const hostsFile = join(dir, 'hosts');
    await writeFile(hostsFile, '# comment\n10.1.2.3 waha.internal waha # trailing\nfd00::5 waha.internal\n');
    const resolve = createResolve({ servers: [dns], timeoutMs: 200, hostsFile });
    assert.deepEqual(await resolve('WAHA.internal.'), [{ address: '10.1.2.3', family: 4 }, { address: 'fd00::5', family: 6 }]);
    assert.deepEqual(await resolve('waha'), [{ address: '10.1.2.3', family: 4 }]);
    assert.deepEqual((await resolve('localhost')).map((x) => x.address), ['127.0.0.1', '::1']);
    const start = Date.now();
    await assert.rejects(resolve('nowhere.blackhole.test'), (e: NodeJS.ErrnoException) => e.code === 'ETIMEOUT');
    assert.ok(Date.now() - start < 2_000, `${Date.now() - start} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
