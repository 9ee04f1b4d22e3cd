/** The routing cache (src/inbound/routing.ts): bounded staleness, and busy lines refreshed ahead. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteCache, type RoutedChannel } from '../../src/inbound/routing.js';
import type { AppContext } from '../../src/app/context.js';

function setup() {
  let clock = 1_000_000;
  let version = 0;
  let fail = false;
  const calls: number[] = [];
  const lookup = async (): Promise<RoutedChannel | null> => {
    calls.push(clock);
    if (fail) throw new Error('database down');
    version += 1;
    return { tenantId: 'ten_a', channelId: 'chn_a', externalId: '123', active: true, credentials: { v: version } };
  };
  const cache = new RouteCache({} as AppContext, lookup, () => clock);
  const v = async () => ((await cache.byExternalId('cloud-api', '123'))!.credentials.v as number);
  return { cache, calls, v, tick: (ms: number) => (clock += ms), failing: (f: boolean) => (fail = f) };
}
const settle = () => new Promise((r) => setImmediate(r));

test('a line in use is refreshed in the background before its entry expires; no request waits', async () => {
  const c = setup();
  assert.equal(await c.v(), 1);
  c.tick(1_000);
  assert.equal(await c.v(), 1);
  assert.equal(c.calls.length, 1, 'fresh entry: no lookup');
  c.tick(2_600); // 3.6 s old: answered from the entry, one refresh started
  assert.deepEqual(await Promise.all([c.v(), c.v(), c.v()]), [1, 1, 1]);
  await settle();
  assert.equal(c.calls.length, 2, 'one refresh, not one per request');
  assert.equal(await c.v(), 2, 'the refreshed answer replaces the old one');
  c.tick(3_000); // 3.0 s after the refresh started: still fresh
  assert.equal(await c.v(), 2);
  assert.equal(c.calls.length, 2);
});

test('a line quiet for longer than the TTL waits for a new lookup (a disabled channel takes effect within 5 s)', async () => {
  const c = setup();
  assert.equal(await c.v(), 1);
  c.tick(5_000);
  assert.equal(await c.v(), 2);
  assert.equal(c.calls.length, 2);
});

test('a failed refresh keeps the entry until it expires, then the next request looks up again', async () => {
  const c = setup();
  assert.equal(await c.v(), 1);
  c.tick(4_000);
  c.failing(true);
  assert.equal(await c.v(), 1, 'answered from the entry while the refresh fails');
  await settle();
  c.tick(500);
  assert.equal(await c.v(), 1);
  await settle();
  assert.equal(c.calls.length, 3, 'a failed refresh is retried by a later request');
  c.tick(600); // 5.1 s: expired
  await assert.rejects(c.v(), /database down/);
  c.failing(false);
  assert.equal(await c.v(), 2, 'a failed lookup is not remembered');
});
