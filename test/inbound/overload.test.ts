/**
 * The inline processor's overload rule (decision 028): it steps back for ingress only when it is
 * behind AND clearly outpaced; behind at a load it sustains, it catches up flat out. And the
 * sliding-window rate the arrival side of that rule is measured with.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { overloaded } from '../../src/inbound/inline.js';
import { RateMeter } from '../../src/core/rate-meter.js';

describe('inline processor overload rule', () => {
  it('a hiccup at a sustainable load is caught up, not yielded to', () => {
    // 5 s behind, 4,000 rows/s arriving, 5,000 rows/s processed: catching up at 1,000/s.
    assert.equal(overloaded(5_000, 4_000, 5_000), false);
    // Behind and slightly outpaced (noise around the same rate): still flat out.
    assert.equal(overloaded(5_000, 5_500, 5_000), false);
  });

  it('clearly outpaced and behind is overload', () => {
    assert.equal(overloaded(1_500, 10_000, 3_000), true);
  });

  it('outpaced without being behind is a burst the processor absorbs', () => {
    assert.equal(overloaded(200, 10_000, 3_000), false);
  });

  it('before any batch has finished, being behind with arrivals is overload', () => {
    assert.equal(overloaded(1_500, 100, 0), true);
    assert.equal(overloaded(1_500, 0, 0), false);
  });
});

describe('RateMeter', () => {
  it('counts events per second over the window, the previous window fading out', () => {
    const m = new RateMeter(1_000);
    const t0 = performance.now();
    m.add(400, t0 + 100);
    m.add(600, t0 + 900);
    assert.equal(m.perSecond(t0 + 950), 1_000);
    // Half-way through the next window with nothing new: half of the previous one still counts.
    assert.equal(Math.round(m.perSecond(t0 + 1_500)), 500);
    m.add(300, t0 + 1_600);
    assert.equal(Math.round(m.perSecond(t0 + 1_800)), 200 + 300);
  });

  it('drops to zero after two quiet windows', () => {
    const m = new RateMeter(1_000);
    const t0 = performance.now();
    m.add(1_000, t0 + 10);
    assert.equal(m.perSecond(t0 + 2_500), 0);
    assert.equal(m.perSecond(t0 + 10_000), 0);
  });
});
