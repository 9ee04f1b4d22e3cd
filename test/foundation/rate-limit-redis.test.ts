import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pino from 'pino';
import { Redis } from 'ioredis';
import { startTestApp, bearer, type TestApp } from '../support/app.js';
import { ApiRateLimiter } from '../../src/http/rate-limit.js';
import { redisCounters } from '../../src/core/shared-counters.js';
import { asTenantId } from '../../src/db/db.js';
import { skipWithoutRedis, TEST_REDIS_URL } from '../support/redis.js';

const REDIS_URL = TEST_REDIS_URL;
const skip = await skipWithoutRedis();

let t: TestApp;
before(async () => {
  if (!skip) t = await startTestApp({ REDIS_URL });
});
after(async () => {
  await t?.close();
});

/** A tenant allowed `n` API requests a minute. */
async function tenantWithLimit(n: number) {
  const s = await t.tenant();
  const p = await t.app.inject({ method: 'PATCH', url: `/admin/tenants/${s.id}`, headers: bearer(t.adminKey), payload: { limits_override: { api_requests_per_minute: n } } });
  assert.equal(p.statusCode, 200, p.body);
  return s;
}

/** Milliseconds until the next minute starts, when it is close: a window must not roll over mid-test. */
async function awayFromMinuteEdge(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 3_000) await new Promise((r) => setTimeout(r, left + 50));
}

test('with REDIS_URL a tenant gets its limit once across processes, not once per process', { skip }, async () => {
  const s = await tenantWithLimit(4);
  // A second Switchboard process: its own limiter and its own Redis connection, same database.
  const other = { ...t.ctx, sharedCounters: redisCounters(REDIS_URL, pino({ level: 'silent' })) };
  const otherLimiter = new ApiRateLimiter();
  try {
    await awayFromMinuteEdge();
    for (let i = 0; i < 2; i++) assert.equal((await t.app.inject({ url: '/v1/tenant', headers: bearer(s.key) })).statusCode, 200);
    for (let i = 0; i < 2; i++) await otherLimiter.check(other, asTenantId(s.id));
    const over = await t.app.inject({ url: '/v1/tenant', headers: bearer(s.key) });
    assert.equal(over.statusCode, 429, 'the fifth request of the minute, counted over both processes');
    assert.ok(Number(over.headers['retry-after']) >= 1);
    await assert.rejects(otherLimiter.check(other, asTenantId(s.id)), (e: { code?: string }) => e.code === 'rate_limited');
    // The count is the tenant's own: another tenant with the same limit is not held back by it.
    const s2 = await tenantWithLimit(4);
    assert.equal((await t.app.inject({ url: '/v1/tenant', headers: bearer(s2.key) })).statusCode, 200);
    await otherLimiter.check(other, asTenantId(s2.id));
    // The window's counter expires on its own shortly after the minute.
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`sb:api:${s.id}:*`);
      assert.equal(keys.length, 1);
      const ttl = await redis.pttl(keys[0]!);
      assert.ok(ttl > 0 && ttl <= 61_000, `ttl ${ttl} ms`);
    } finally {
      redis.disconnect();
    }
  } finally {
    await other.sharedCounters.close();
  }
});

test('while Redis does not answer, each process counts on its own: requests are served, the limit still holds, one warning', { skip }, async () => {
  const s = await tenantWithLimit(3);
  const lines: string[] = [];
  const down = { ...t.ctx, sharedCounters: redisCounters('redis://127.0.0.1:1', pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) })) };
  const limiter = new ApiRateLimiter();
  try {
    await awayFromMinuteEdge();
    for (let i = 0; i < 3; i++) await limiter.check(down, asTenantId(s.id));
    await assert.rejects(limiter.check(down, asTenantId(s.id)), (e: { code?: string }) => e.code === 'rate_limited');
    for (let i = 0; i < 20 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(lines.filter((l) => l.includes('redis unavailable')).length, 1, lines.join('\n'));
  } finally {
    await down.sharedCounters.close();
  }
});

test('the Redis connection opens on first use, not when a context is built (the processing thread and CLI commands build one too)', async () => {
  let connections = 0;
  const server = net.createServer((sock) => {
    connections += 1;
    sock.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const counters = redisCounters(`redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`, pino({ level: 'silent' }));
  try {
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(connections, 0, 'built, unused: no connection');
    await assert.rejects(counters.incr('sb:test', 1_000)); // this "Redis" hangs up: the caller counts on its own
    assert.ok(connections >= 1, 'the first increment connected');
  } finally {
    await counters.close();
    await new Promise((r) => server.close(r));
  }
});
