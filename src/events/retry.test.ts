import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ATTEMPTS, nextDelayMs, RETRY_DELAYS_MS } from './retry.js';

describe('webhook retry schedule', () => {
  it('spans at least ~27 h without jitter and stops after the last step', () => {
    const total = RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    assert.ok(total >= 27 * 3600 * 1000, `${total}`);
    assert.equal(nextDelayMs(MAX_ATTEMPTS, undefined), null);
  });
  it('jitters 0 to +20 % a step and honours a longer Retry-After', () => {
    assert.equal(nextDelayMs(1, undefined, () => 0), 5000);
    assert.equal(nextDelayMs(1, undefined, () => 1), 6000);
    assert.equal(nextDelayMs(1, 60_000, () => 0.5), 60_000);
    assert.equal(nextDelayMs(2, 1_000, () => 0.5), 330_000);
  });
  it('never spans less than the schedule, whatever the jitter draws', () => {
    for (const draw of [() => 0, () => 0.5, () => 0.999, Math.random]) {
      let total = 0;
      for (let attempts = 1; attempts < MAX_ATTEMPTS; attempts++) total += nextDelayMs(attempts, undefined, draw)!;
      assert.ok(total >= 27.5 * 3600 * 1000, `${total / 3600_000} h`);
    }
  });
});
