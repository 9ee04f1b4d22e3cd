/**
 * The burst probe (src/inbound/burst.ts, decision 031): a load that answers faster when processing
 * pauses is a burst, one that does not is a steady rate, and a load that is just starting is not
 * probed until it has been busy for a while. Driven by a simulated clock and answer counter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BurstProbe } from '../../src/inbound/burst.js';

const TICK_MS = 25;

/**
 * `perSecond(paused)`: how many requests ingress answers per second, given whether processing is
 * pausing (probe) or yielding (burst) at the moment.
 */
function setup(perSecond: (processingHeldBack: boolean) => number, hot = () => true) {
  let clock = 0;
  let answered = 0;
  const told: boolean[] = [];
  const probe = new BurstProbe(() => answered, hot, { now: () => clock, onBurst: (b) => told.push(b) });
  const states: string[] = [];
  const run = (ms: number) => {
    for (let t = 0; t < ms; t += TICK_MS) {
      clock += TICK_MS;
      answered = (answered + Math.round((perSecond(probe.pausing() || probe.bursting()) * TICK_MS) / 1000)) | 0;
      probe.tick();
      states.push(probe.pausing() ? 'p' : probe.bursting() ? 'B' : '.');
    }
  };
  return { probe, run, states, told, counts: () => ({ probes: states.join('').split(/\.+p/).length - 1, burstTicks: states.filter((s) => s === 'B').length }) };
}

test('a steady rate (answers do not depend on processing) is probed now and then, never a burst', () => {
  const s = setup(() => 4_000);
  s.run(40_000);
  assert.equal(s.probe.bursting(), false);
  assert.equal(s.counts().burstTicks, 0, 'never held back');
  const pauses = s.states.filter((x) => x === 'p').length;
  assert.ok(pauses > 0, 'it did probe');
  assert.ok(pauses * TICK_MS <= 0.05 * 40_000, `pauses are a small share of the time (${pauses * TICK_MS} ms of 40 s)`);
  const starts = s.states.map((x, i) => (x === 'p' && s.states[i - 1] !== 'p' ? i * TICK_MS : -1)).filter((t) => t >= 0);
  const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
  assert.ok(gaps.length >= 4, `probed again (${starts.join(', ')} ms)`);
  assert.ok(gaps[0]! >= 1_300 && gaps[0]! < 1_500, `the first steady answer is asked again 1 s after its pause (${starts.join(', ')} ms)`);
  assert.ok(gaps[1]! >= 3_300 && gaps[1]! < 3_500, `the second 3 s after (${starts.join(', ')} ms)`);
  assert.ok(gaps[2]! > 6_000 && gaps[3]! > 12_000, `each further steady answer spaces the next probe further (${starts.join(', ')} ms)`);
});

test('an elastic load (answers faster while processing holds back) becomes a burst, and is re-checked', () => {
  const s = setup((heldBack) => (heldBack ? 9_000 : 5_500));
  s.run(3_500);
  assert.equal(s.probe.bursting(), true, 'the first probe found answers 60 % faster without processing');
  s.run(10_000);
  const after = s.states.slice(3_500 / TICK_MS);
  const share = after.filter((x) => x === 'B').length / after.length;
  assert.ok(share > 0.6, `held back most of the time while the burst lasts (${share.toFixed(2)})`);
  assert.ok(s.states.slice(-200).includes('.'), 'processing runs freely between holds to look again');
  assert.deepEqual(s.told, [true], 'the start of the burst is told once, not at every re-check');
});

test('answers 45 % faster without processing are a burst (the contrast on a day when HTTP on the machine is slower)', () => {
  const s = setup((heldBack) => (heldBack ? 8_000 : 5_500));
  s.run(3_500);
  assert.equal(s.probe.bursting(), true);
});

test('a steady load near capacity that catches up by 25 % during a pause is not a burst', () => {
  const s = setup((heldBack) => (heldBack ? 5_000 : 4_000));
  s.run(30_000);
  assert.equal(s.counts().burstTicks, 0);
});

test('answers that dip just before a probe and catch up during it are not a burst (a steady load near capacity)', () => {
  // 4,000/s, except 2,800/s in the 200 ms before the first probe (at 3 s) and 5,000/s in its pause:
  // 1.8x the dip (a burst's contrast), but only 1.3x the last second's rate (a steady load's).
  let t = 0;
  const s = setup((heldBack) => {
    t += TICK_MS;
    if (t > 2_800 && t <= 3_000) return 2_800;
    return heldBack && t <= 3_300 ? 5_000 : 4_000;
  });
  s.run(4_000);
  assert.ok(s.states.includes('p'), 'probed');
  assert.equal(s.counts().burstTicks, 0);
});

test('a burst goes on while re-checks find answers 25 % faster without processing (it is still ramping up)', () => {
  let contrast = 1.7;
  const s = setup((heldBack) => (heldBack ? 5_000 * contrast : 5_000));
  s.run(3_500);
  assert.equal(s.probe.bursting(), true, 'started at 1.7x');
  contrast = 1.25;
  s.run(10_000);
  assert.ok(s.states.slice(-200).includes('B'), 'still held back at 1.25x');
  assert.deepEqual(s.told, [true]);
});

test('when processing stops holding ingress back, the burst ends once two checks in a row find it', () => {
  let elastic = true;
  const s = setup((heldBack) => (elastic && heldBack ? 9_000 : 5_500));
  s.run(3_500);
  assert.equal(s.probe.bursting(), true);
  elastic = false; // the provider's backlog is gone: a steady rate from here on
  s.run(6_000);
  assert.equal(s.counts().burstTicks > 0, true);
  const tail = s.states.slice(-120).join('');
  assert.ok(!tail.includes('B'), `no burst in the last 3 s (${tail})`);
  assert.deepEqual(s.told, [true, false], 'its start and its end are told');
});

test('one check disturbed by other work does not end a burst (the next one, moments later, finds it still on)', () => {
  // Within the burst, one probe's pause answers no faster than processing running (something else
  // took the machine for those 300 ms); the probes before and after it see the usual contrast.
  let disturb = 0;
  const s = setup((heldBack) => {
    if (disturb > 0 && s.probe.pausing()) {
      disturb -= 1;
      return 5_500;
    }
    return heldBack ? 9_000 : 5_500;
  });
  s.run(3_500);
  assert.equal(s.probe.bursting(), true);
  disturb = 300 / TICK_MS; // the whole of the next probe's pause
  s.run(8_000);
  assert.equal(disturb, 0, 'a probe was disturbed');
  assert.deepEqual(s.told, [true], 'the burst never ended');
  assert.ok(s.states.slice(-120).includes('B'), 'still held back at the end');
});

test('a burst whose load stops altogether is over once ingress has been quiet for a second', () => {
  let on = true;
  const s = setup((heldBack) => (on ? (heldBack ? 9_000 : 5_500) : 0), () => on);
  s.run(3_500);
  assert.equal(s.probe.bursting(), true);
  on = false;
  s.run(3_500);
  assert.equal(s.probe.bursting(), false, 'not held back once its hold ran out');
  assert.deepEqual(s.told, [true, false], 'the end is told without waiting for a probe');
});

test('a quiet ingress is never probed', () => {
  const s = setup(() => 200, () => false);
  s.run(10_000);
  assert.equal(s.states.filter((x) => x !== '.').length, 0);
});

test('a load that has just started is not taken for a burst (its rate is still rising)', () => {
  // 5 s of a trickle (not hot), then a steady load whose answers ramp up to 4,000/s over 400 ms,
  // whatever processing does. Probing at its first hot moment would compare the ramp with the trickle.
  let t = 0;
  const s = setup(() => ((t += TICK_MS) <= 5_000 ? 100 : Math.min(4_000, 100 + (t - 5_000) * 10)), () => t > 5_000);
  s.run(15_000);
  assert.equal(s.counts().burstTicks, 0);
  assert.ok(s.states.includes('p'), 'the load was probed once it was steady');
});

test('a burst is first probed once its load has been hot for a second (its first moments understate the contrast)', () => {
  // 5 s quiet, then a closed-loop load: 5,500/s with processing running; while processing holds
  // back, 7,200/s in the load's first 900 ms (connections and batches still growing) and 9,000/s
  // after. A probe in the first moments would read "steady" and not ask again for 6 s.
  let t = 0;
  const s = setup((heldBack) => {
    t += TICK_MS;
    if (t <= 5_000) return 0;
    return heldBack ? (t - 5_000 < 900 ? 7_200 : 9_000) : 5_500;
  }, () => t > 5_000);
  s.run(5_000);
  assert.equal(s.states.filter((x) => x !== '.').length, 0, 'not probed while quiet');
  s.run(2_000);
  assert.equal(s.probe.bursting(), true, 'a burst within 2 s of the load starting');
});

test('a burst the first probe misses is found 1 s later, and a new load after a quiet second is looked at promptly again', () => {
  // The first probe of the load reads no contrast (as some first probes did on the bench), the
  // ones after it the usual 1.6x.
  let probes = 0;
  let wasPausing = false;
  let on = true;
  const s = setup((heldBack) => {
    const pausing = s.probe.pausing();
    if (pausing && !wasPausing) probes += 1;
    wasPausing = pausing;
    if (!on) return 0;
    return heldBack && probes > 1 ? 9_000 : 5_500;
  }, () => on);
  s.run(3_400);
  assert.equal(s.probe.bursting(), false, 'the first probe (at 3 s) said steady');
  s.run(1_000);
  assert.equal(s.probe.bursting(), false, 'not asked again within 1 s of its pause');
  s.run(400);
  assert.equal(s.probe.bursting(), true, 'found by the probe 1 s after the first');
  on = false;
  s.run(3_000);
  on = true;
  probes = 0; // the new load's first probe misses again
  s.run(1_000 + 300 + 1_000 + 400);
  assert.equal(s.probe.bursting(), true, 'the new load: missed at its first probe, found 1 s later');
});

test('after a quiet second, the lengthened interval of a steady load starts over: the next load is probed again 1 s after its first probe', () => {
  // A steady load long enough for the interval to grow past 3 s, a quiet spell, then a burst whose
  // first probe misses (as on the bench).
  let phase: 'steady' | 'quiet' | 'burst' = 'steady';
  let probes = 0;
  let wasPausing = false;
  const s = setup((heldBack) => {
    const pausing = s.probe.pausing();
    if (pausing && !wasPausing) probes += 1;
    wasPausing = pausing;
    if (phase === 'quiet') return 0;
    if (phase === 'steady') return 4_000;
    return heldBack && probes > 1 ? 9_000 : 5_500;
  }, () => phase !== 'quiet');
  s.run(16_000);
  assert.ok(probes >= 4, `the steady load was probed ${probes} times: its interval is past 3 s now`);
  phase = 'quiet';
  s.run(2_000);
  phase = 'burst';
  probes = 0;
  s.run(1_000 + 300 + 1_000 + 400);
  assert.equal(s.probe.bursting(), true, 'missed at its first probe, found 1 s later');
});

test('the rate is read from the counter even when it wraps (a 32-bit shared counter)', () => {
  let answered = 2_147_483_000;
  let clock = 0;
  const probe = new BurstProbe(() => answered, () => true, { now: () => clock });
  for (let i = 0; i < 20; i++) {
    clock += TICK_MS;
    answered = (answered + 100) | 0;
    probe.tick();
  }
  assert.equal(Math.round(probe.rate()), 4_000);
});
