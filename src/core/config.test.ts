import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from './config.js';

test('EVENTS_RETENTION_DAYS: 30 by default, 0 keeps everything, anything else outside 0–3650 is refused with the others', () => {
  assert.equal(parseConfig({}).eventsRetentionDays, 30);
  assert.equal(parseConfig({ EVENTS_RETENTION_DAYS: '0' }).eventsRetentionDays, 0);
  assert.equal(parseConfig({ EVENTS_RETENTION_DAYS: '400' }).eventsRetentionDays, 400);
  assert.throws(() => parseConfig({ EVENTS_RETENTION_DAYS: '-1', DB_POOL_SIZE: '0' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 2, 'both problems in one error');
    assert.ok(err.problems.includes('EVENTS_RETENTION_DAYS must be an integer from 0 to 3650 (got "-1")'), err.message);
    assert.ok(err.problems.includes('DB_POOL_SIZE must be an integer from 1 to 500 (got "0")'), err.message);
    return true;
  });
});

test('HTTP_THREAD_NICE: -5 by default, any nice value from -20 to 19, nothing else', () => {
  assert.equal(parseConfig({}).httpThreadNice, -5);
  assert.equal(parseConfig({ HTTP_THREAD_NICE: '0' }).httpThreadNice, 0);
  assert.equal(parseConfig({ HTTP_THREAD_NICE: '-20' }).httpThreadNice, -20);
  for (const bad of ['-21', '20', 'high', '1.5']) {
    assert.throws(() => parseConfig({ HTTP_THREAD_NICE: bad }), (err: unknown) => err instanceof ConfigError && err.problems.includes(`HTTP_THREAD_NICE must be an integer from -20 to 19 (got "${bad}")`));
  }
});

test('TRUST_PROXY: loopback and private networks by default; true, false, or a list of addresses, ranges and keywords; anything else refused', () => {
  assert.deepEqual(parseConfig({}).trustProxy, ['loopback', 'linklocal', 'uniquelocal']);
  assert.equal(parseConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
  assert.equal(parseConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
  assert.deepEqual(parseConfig({ TRUST_PROXY: '10.0.0.0/8, 2001:db8::1,loopback' }).trustProxy, ['10.0.0.0/8', '2001:db8::1', 'loopback']);
  assert.throws(() => parseConfig({ TRUST_PROXY: 'everyone' }), (e: unknown) => e instanceof ConfigError && /TRUST_PROXY/.test(e.message));
});
