/**
 * Is the processing thread holding webhook ingress back? (decision 031)
 *
 * A provider with a backlog (an outage just ended, a campaign's replies) sends as fast as it is
 * answered: there, every core-second processing takes is webhooks not persisted. At a steady rate
 * the provider sends the same whatever processing does, and processing must keep up. The two look
 * alike from inside (ingress busy, requests in flight), so the thread asks the load itself: while
 * ingress is hot it pauses for PROBE_MS and compares the answer rate during the pause with the rate
 * just before it. If answers came ELASTIC times faster, ingress was being held back: for HOLD_MS
 * processing yields (it still runs a share of the time, so visibility never stalls), then runs
 * freely for FREE_AFTER_BURST_MS and asks again. At a steady rate the pause changes nothing and
 * costs PROBE_MS of processing, which it catches up in one bigger batch; the next probe comes
 * FREE_MS later, twice as long after each further "steady" answer, up to MAX_FREE_MS. The first
 * "steady" of a load is asked again after only FIRST_REASK_MS: a load's first probe can read a much
 * lower contrast than later ones (0.99–2.06× on the bench's peaks against 1.28–2.44×, cause not
 * found; 0.97–1.39× in 9 of 18 logged peaks on 2026-11-30), and a burst missed there ran with
 * processing taking its share for FREE_MS — 3 s of the bench's 10 s peak.
 *
 * `tick` is called every few tens of milliseconds (the thread's publish timer); `answered` is the
 * ingress gauge's count of closed requests; `hot` whether requests are waiting for their answer.
 */
const FREE_MS = 3_000;
const FIRST_REASK_MS = 1_000;
const MAX_FREE_MS = 12_000;
const FREE_AFTER_BURST_MS = 500;
const PROBE_MS = 300;
const HOLD_MS = 2_000;
/** Rates are compared over the last WINDOW_MS of each phase (the first moments are a transition). */
const WINDOW_MS = 200;
/**
 * Answers this much faster during a pause start a burst: processing costs ingress a third of its
 * rate (re-checks within the bench's closed-loop peaks read 1.28–2.44×; at 1.5 the first probe
 * missed the burst in three of seven logged peaks in an hour the machine's HTTP was slower). A
 * steady load near capacity also answers faster during a pause — ingress catches up on requests
 * that queued while processing ran, 1.2–1.8× the dip before it on the bench — and that must not
 * start one: outside a burst the rate before a probe is also taken over the last second
 * (HISTORY_MS), which the dip barely moves (open-loop loads of 2,800–5,500/s, at and past
 * capacity, read 0.83–1.24× against it). A burst already on continues at STAY_ELASTIC: right after
 * a hold, processing is still ramping up and the contrast reads lower than at the start.
 */
const ELASTIC = 1.4;
const STAY_ELASTIC = 1.2;
const HISTORY_MS = 1_000;
const QUIET_MS = 1_000;
/**
 * A load is probed once it has been hot this long: its rate is still rising before that, and the
 * pause rate too — at 400 ms into the bench's closed-loop peak the pauses answered 6,300–6,400/s,
 * 1.26–1.38× the rate before them, against 7,600–10,300/s and 1.3–1.6× in the pauses after. A
 * second helps but does not cure it (see the re-ask above).
 */
const HOT_BEFORE_PROBE_MS = HISTORY_MS;
/**
 * CONFIRM_END: a burst ends on two "no"s in a row, the second asked FREE_AFTER_BURST_MS after the
 * first. A pause can be disturbed by other work on the machine — on the bench a statistics refresh
 * ran through one, the paused rate read 6,435/s against 7,462 and 7,714/s in the pauses before it, and
 * the burst ended with the load still on; ending wrongly gives processing FREE_MS of free running
 * at the load's expense, continuing wrongly costs one more hold.
 */

type State = 'free' | 'probe' | 'burst';
type Told = (bursting: boolean, rates: { before: number; during: number }) => void;

export class BurstProbe {
  private state: State = 'free';
  private since: number;
  private before = 0;
  /** Since when ingress has been hot at every tick (NaN: not hot at the last one). */
  private hotSince = NaN;
  /** Since when ingress has been quiet at every tick (NaN: hot at the last one). */
  private quietSince = NaN;
  private readonly samples: { at: number; n: number }[] = [];
  /** "Steady" answers since the last burst or quiet moment. */
  private steadyInRow = 0;
  private wasBurst = false;
  /** The last probe within a burst said "no" (CONFIRM_END). */
  private doubted = false;

  private readonly now: () => number;

  /** `onBurst(true | false, rates)` is told when a burst starts and ends, `onProbe` every probe's answer (for the log). */
  constructor(
    private readonly answered: () => number,
    private readonly hot: () => boolean,
    private readonly o: { now?: () => number; onBurst?: Told; onProbe?: Told } = {},
  ) {
    this.now = o.now ?? (() => performance.now());
    this.since = this.now();
  }

  /**
   * Free time before the next probe: FIRST_REASK_MS after a load's first "steady" answer, FREE_MS
   * after its second (and after a burst), doubled by each further one in a row.
   */
  private get freeMs(): number {
    if (this.steadyInRow === 1) return FIRST_REASK_MS;
    return Math.min(MAX_FREE_MS, FREE_MS * 2 ** Math.max(0, this.steadyInRow - 2));
  }

  /** Processing must not start a batch now (the pause of a probe). */
  pausing(): boolean {
    return this.state === 'probe';
  }

  /** Ingress is being held back by processing: processing yields until the next probe. */
  bursting(): boolean {
    return this.state === 'burst';
  }

  /** Answers per second over the last `ms` (0 with too little history). */
  rate(ms = WINDOW_MS): number {
    const last = this.samples.at(-1);
    const from = this.samples.find((s) => s.at >= (last?.at ?? 0) - ms);
    if (!last || !from || last.at - from.at < ms / 2) return 0;
    return (((last.n - from.n) | 0) * 1000) / (last.at - from.at);
  }

  tick(): void {
    const at = this.now();
    this.samples.push({ at, n: this.answered() });
    while (this.samples.length > 2 && this.samples[0]!.at < at - HISTORY_MS) this.samples.shift();
    const elapsed = at - this.since;
    if (!this.hot()) {
      this.hotSince = NaN;
      if (Number.isNaN(this.quietSince)) this.quietSince = at;
    } else {
      this.quietSince = NaN;
      if (Number.isNaN(this.hotSince)) this.hotSince = at;
    }
    // Quiet for QUIET_MS: a burst is over (no probe will ask while it is quiet), and the next load
    // is a new one, looked at promptly.
    if (at - this.quietSince >= QUIET_MS) {
      if (this.wasBurst && this.state !== 'burst') this.told(false, this.rate(), this.rate());
      this.steadyInRow = 0;
    }
    if (this.state === 'free') {
      // The rate before a probe must be one of a busy ingress: a load that just started is still
      // rising, and its next moments would read as answers freed by the pause (HOT_BEFORE_PROBE_MS).
      if (elapsed < this.freeMs || !(at - this.hotSince >= HOT_BEFORE_PROBE_MS)) return;
      // Outside a burst, "before" is also no lower than the last second's rate: at a steady load near
      // capacity the answers dip while a batch runs and catch up in the pause, which is not a load
      // that would send faster (within a burst the last second includes the hold and reads high).
      this.enter('probe', at, this.wasBurst ? this.rate() : Math.max(this.rate(), this.rate(HISTORY_MS)));
    } else if (this.state === 'probe') {
      if (elapsed < PROBE_MS) return;
      const during = this.rate();
      const burst = this.before > 0 && during >= (this.wasBurst ? STAY_ELASTIC : ELASTIC) * this.before;
      this.o.onProbe?.(burst, { before: Math.round(this.before), during: Math.round(during) });
      if (this.wasBurst && !burst && !this.doubted) {
        // One "no" within a burst is asked again after a short free moment (see CONFIRM_END).
        this.doubted = true;
        return this.freeBriefly(at);
      }
      this.doubted = false;
      if (burst !== this.wasBurst) this.told(burst, this.before, during);
      this.steadyInRow = burst ? 0 : this.steadyInRow + 1;
      this.enter(burst ? 'burst' : 'free', at);
    } else if (elapsed >= HOLD_MS) {
      this.freeBriefly(at);
    }
  }

  /** Free for FREE_AFTER_BURST_MS, then the next probe (its "before" is that free moment's rate). */
  private freeBriefly(at: number): void {
    this.enter('free', at - (this.freeMs - FREE_AFTER_BURST_MS));
  }

  private told(burst: boolean, before: number, during: number): void {
    this.wasBurst = burst;
    this.o.onBurst?.(burst, { before: Math.round(before), during: Math.round(during) });
  }

  private enter(state: State, since: number, before = 0): void {
    this.state = state;
    this.since = since;
    this.before = before;
  }
}
