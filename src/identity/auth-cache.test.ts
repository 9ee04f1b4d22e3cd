import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthCache } from './auth-cache.js';
import type { Listen } from '../db/listen.js';

/** A LISTEN the test drives: `notify` delivers a payload, `state` reports the connection. */
function fakeListen() {
  let onPayload: ((p: string) => void) | undefined;
  let onState: ((up: boolean) => void) | undefined;
  const listen: Listen = async (_channel, p, s) => {
    onPayload = p;
    onState = s;
    return async () => undefined;
  };
  return { listen, notify: (p: string) => onPayload!(p), state: (up: boolean) => onState!(up) };
}

const row = (tenant: string, v = 1) => ({ tenant, v });

describe('AuthCache', () => {
  it('caches only while the LISTEN connection is up', async () => {
    const f = fakeListen();
    const c = new AuthCache(f.listen);
    let loads = 0;
    const load = async () => row('t1', ++loads);
    await c.get('k', load, (r) => r.tenant); // starts listening; not up yet: not stored
    await c.get('k', load, (r) => r.tenant);
    assert.equal(loads, 2);
    f.state(true);
    await c.get('k', load, (r) => r.tenant);
    assert.equal((await c.get('k', load, (r) => r.tenant))!.v, 3, 'served from the cache');
    f.state(false); // notifications may be lost from here on
    assert.equal((await c.get('k', load, (r) => r.tenant))!.v, 4);
    f.state(true);
    assert.equal((await c.get('k', load, (r) => r.tenant))!.v, 5, 'cleared when LISTEN came back');
  });

  it('a notification for a tenant drops that tenant only', async () => {
    const f = fakeListen();
    const c = new AuthCache(f.listen);
    await c.get('x', async () => row('a'), (r) => r.tenant);
    f.state(true);
    let n = 0;
    await c.get('a', async () => row('ta', ++n), (r) => r.tenant);
    await c.get('b', async () => row('tb', ++n), (r) => r.tenant);
    f.notify('ta');
    assert.equal((await c.get('a', async () => row('ta', ++n), (r) => r.tenant))!.v, 3, 'reloaded');
    assert.equal((await c.get('b', async () => row('tb', ++n), (r) => r.tenant))!.v, 2, 'still cached');
  });

  it('a load that started before an invalidation is answered but not stored', async () => {
    const f = fakeListen();
    const c = new AuthCache(f.listen);
    await c.get('x', async () => row('a'), (r) => r.tenant);
    f.state(true);
    let release!: () => void;
    const slow = c.get('k', () => new Promise<{ tenant: string; v: number }>((res) => (release = () => res(row('t1', 1)))), (r) => r.tenant);
    await new Promise((r) => setImmediate(r));
    f.notify('t1'); // e.g. the key was revoked while the old row was in flight
    release();
    assert.equal((await slow)!.v, 1);
    assert.equal((await c.get('k', async () => row('t1', 2), (r) => r.tenant))!.v, 2, 'the stale row was not kept');
  });

  it('expires entries after the TTL, never stores misses, and does nothing without LISTEN', async () => {
    let now = 0;
    const f = fakeListen();
    const c = new AuthCache(f.listen, undefined, () => now);
    await c.get('x', async () => row('a'), (r) => r.tenant);
    f.state(true);
    let n = 0;
    await c.get('k', async () => row('t', ++n), (r) => r.tenant);
    now = 9_999;
    assert.equal((await c.get('k', async () => row('t', ++n), (r) => r.tenant))!.v, 1);
    now = 10_000;
    assert.equal((await c.get('k', async () => row('t', ++n), (r) => r.tenant))!.v, 2);
    let misses = 0;
    await c.get('none', async () => (misses++, undefined), () => 't');
    await c.get('none', async () => (misses++, undefined), () => 't');
    assert.equal(misses, 2);
    const off = new AuthCache(undefined);
    let m = 0;
    await off.get('k', async () => row('t', ++m), (r) => r.tenant);
    await off.get('k', async () => row('t', ++m), (r) => r.tenant);
    assert.equal(m, 2);
  });
});
