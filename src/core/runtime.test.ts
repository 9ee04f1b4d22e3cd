import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settlesWithin } from './runtime.js';

test('settlesWithin: true when the work settles (fulfilled or rejected) within the grace, false when it does not', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  assert.equal(await settlesWithin(Promise.resolve(), 60_000), true);
  assert.equal(timers(), before, 'the grace timer is cleared when the work settles first');
  assert.equal(await settlesWithin(Promise.reject(new Error('boom')), 1_000), true);
  const started = Date.now();
  assert.equal(await settlesWithin(new Promise(() => {}), 30), false);
  assert.ok(Date.now() - started >= 25, 'waited out the grace');
});
