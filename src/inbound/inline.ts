import type { AppContext } from '../app/context.js';
import { ingestReceived } from './ingest-received.js';
import { processBatch, type InboxItem } from './normalise.js';
import type { BurstProbe } from './burst.js';
import { RateMeter } from '../core/rate-meter.js';

/**
 * Processes freshly acknowledged rows right away in this process, from the bodies ingress already
 * holds, so the lag from acknowledge to "visible through the API" is one call, not a worker poll
 * interval (decision 026).
 *
 * - Batches are per tenant (RLS: a call acts as one tenant) and grow with the load: a batch is
 *   written once its tenant has LINGER_ROWS rows queued or its oldest row has waited LINGER_MS;
 *   at most MAX_BATCH rows (on the bench, 500-row batches got through ~30 % fewer rows a second
 *   than 64-128-row ones, so a processor that fell behind and took its backlog in big batches fell
 *   further behind).
 *   A call of sb_ingest_received costs ~0.5 ms whatever its size, so 60-row batches took 30 % less
 *   PostgreSQL time than 13-row ones on the bench; 100 ms leaves visibility far under a second.
 * - One batch at a time; a second alongside once MIN_PARALLEL rows wait and ingress is not hot
 *   (checked on arrivals and after every batch).
 * - Under overload ingress comes first (decision 028; on the processing thread also decisions 030
 *   and 031, see the constructor). Overload: arrivals outpace what processing
 *   achieves — the oldest queued row has waited more than BEHIND_MS *and* rows arrive more than
 *   OUTPACED times faster than the processor's measured throughput (rows per second of batch time,
 *   recent batches weighted most; the margin keeps a noisy estimate near the arrival rate from
 *   tipping a sustainable load into stepping back). Then, while `hot()` (webhook requests queueing
 *   for their answer), the processor waits before each batch until ingress has been calm for a
 *   moment, but never longer than YIELD_FACTOR times its last batch: it still runs a tenth of the
 *   time, the provider's webhooks keep being persisted and answered at nearly the rate of ingress
 *   alone, and the backlog drains as soon as the load drops below the processor's throughput.
 *   Behind but not outpaced (a hiccup at a load the pipeline sustains), it runs flat out and
 *   catches up: being behind alone never makes it step back, or a sustainable load would stay
 *   behind while it lasts.
 * - At most QUEUE rows wait in memory; beyond that rows stay pending for the worker. Best effort: a
 *   failure leaves its rows pending. `idle()` lets shutdown wait for in-flight work.
 */
const QUEUE = 50_000;
const MAX_BATCH = 128;
const LINGER_ROWS = 64;
const LINGER_MS = 100;
const PARALLEL = 2;
const MIN_PARALLEL = 256;
const CALM_BEFORE_PARALLEL_MS = 1_000;
const YIELD_FACTOR = 9;
/**
 * While the burst probe (decision 031) finds ingress held back by processing: processing waits
 * BURST_YIELD_FACTOR times each batch, so it keeps about a third of its pace and visibility never
 * stalls, and ingress gets the rest.
 */
const BURST_YIELD_FACTOR = 2;
const BEHIND_MS = 1_000;
/** On the processing thread: behind by this much while ingress is saturated is overload. */
const BEHIND_SATURATED_MS = 300;
const MAX_YIELD_MS = 1_000;

type Queued = InboxItem & { queuedAt: number };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Weight of the batches before the last one in the processor's throughput figure. */
const THROUGHPUT_DECAY = 0.9;
const OUTPACED = 1.25;

/** The overload rule of the inline processor (see its comment): behind, and clearly outpaced. */
export function overloaded(behindMs: number, arrivalsPerS: number, throughputPerS: number): boolean {
  return behindMs > BEHIND_MS && arrivalsPerS > OUTPACED * throughputPerS;
}

export class InlineProcessor {
  /** Queued rows per tenant, each in arrival order. */
  private readonly queues = new Map<string, Queued[]>();
  private size = 0;
  private running = 0;
  private lastBatchMs = 1;
  private readonly arrivals = new RateMeter();
  /**
   * Rows and busy milliseconds of recent batches, decayed per batch: their ratio is the throughput.
   * Busy time is counted once when two batches overlap (each adds only the time since the later of
   * its start and the previous batch's end), or parallel batches would halve the figure.
   */
  private doneRows = 0;
  private doneMs = 0;
  private lastBatchEnd = 0;
  private readonly waiters: (() => void)[] = [];

  /**
   * `hot(withinMs?)`: webhook requests are queueing for their answer (or were, within `withinMs`; the
   * ingress gauge keeps when they last were). `saturated` (given on the processing
   * thread, decision 030): the thread that answers them is using (nearly) a whole core. Given, it
   * replaces the "outpaced" estimate: behind by more than BEHIND_SATURATED_MS while the acknowledging
   * thread is saturated is overload, and the processor waits while it stays saturated (at most
   * YIELD_FACTOR × its last batch). On its own thread the processor's throughput says nothing about
   * ingress: they no longer share an event loop. `probe` (also on the processing thread, decision
   * 031): no batch starts while it pauses to measure, and while it finds ingress held back by
   * processing that is overload too, with waits of BURST_YIELD_FACTOR × the last batch.
   */
  constructor(
    private readonly ctx: AppContext,
    private readonly hot: (withinMs?: number) => boolean = () => false,
    private readonly saturated?: () => boolean,
    private readonly probe?: Pick<BurstProbe, 'pausing' | 'bursting'>,
  ) {
    this.busy = saturated ? () => Boolean(probe?.bursting()) || saturated() : hot;
  }

  /** What the processor steps back for: a saturated acknowledging thread when told of one, else a hot ingress. */
  private readonly busy: () => boolean;

  kick(rows: InboxItem[]): void {
    const queuedAt = performance.now();
    this.arrivals.add(rows.length, queuedAt);
    for (const r of rows) {
      if (this.size >= QUEUE) break;
      const q = this.queues.get(r.tenantId);
      if (q) q.push({ ...r, queuedAt });
      else this.queues.set(r.tenantId, [{ ...r, queuedAt }]);
      this.size += 1;
    }
    this.pump();
  }

  /**
   * Starts a runner if none is running, and a second one beside it once MIN_PARALLEL rows wait and
   * ingress is not hot. Called on arrivals, and after every batch once ingress has been calm for
   * CALM_BEFORE_PARALLEL_MS: a backlog left when a burst ends is drained by two runners, not only by
   * the one that happened to be running (the drain left the machine 37 % idle; two runners drained
   * 8,500–11,800 rows/s where one drained 6,500–9,300); after a batch, the calm second keeps a steady
   * load from doubling its runners on every backlog (without it, two of three bench runs read a
   * half-load lag p50 of 300 and 660 ms against 115–130). On arrivals "not hot" is read at the
   * moment: at a steady load a second runner starts on a lull with MIN_PARALLEL rows queued — in
   * the bench's half load once, mostly 0.2–2.6 s in, after a burst probe's pause — and then runs
   * until the queue is empty, which at a steady load is when the load ends. The calm second there too
   * (one runner throughout) was tried on a slow VM and not kept: acknowledge p99 lower in 17 of 24
   * pairs, but the same by median where the pairs' loads matched, and the only runs that fell behind
   * were its own (docs/performance.md, 2026-11-30 19:08).
   */
  private pump(): void {
    while (this.size > 0 && (this.running === 0 || (this.running < PARALLEL && this.size >= MIN_PARALLEL && !this.hot()))) void this.run();
  }

  /** The tenant to write next: the one whose oldest row waited longest, unless another is fuller. */
  private next(): { tenantId: string; ready: boolean; waitMs: number } | undefined {
    let oldest: { tenantId: string; at: number } | undefined;
    let fullest: { tenantId: string; n: number } | undefined;
    for (const [tenantId, q] of this.queues) {
      if (!oldest || q[0]!.queuedAt < oldest.at) oldest = { tenantId, at: q[0]!.queuedAt };
      if (!fullest || q.length > fullest.n) fullest = { tenantId, n: q.length };
    }
    if (!oldest || !fullest) return undefined;
    const waited = performance.now() - oldest.at;
    if (fullest.n >= LINGER_ROWS) return { tenantId: fullest.tenantId, ready: true, waitMs: 0 };
    return { tenantId: oldest.tenantId, ready: waited >= LINGER_MS, waitMs: LINGER_MS - waited };
  }

  private take(tenantId: string): InboxItem[] {
    const q = this.queues.get(tenantId)!;
    const batch = q.splice(0, MAX_BATCH);
    if (q.length === 0) this.queues.delete(tenantId);
    this.size -= batch.length;
    return batch;
  }

  /** Arrival time of the oldest queued row (Infinity when none). */
  private oldestQueuedAt(): number {
    let at = Infinity;
    for (const q of this.queues.values()) at = Math.min(at, q[0]!.queuedAt);
    return at;
  }

  /** Rows per second the processor achieves while it works (0 before its first batch). */
  throughput(): number {
    return this.doneMs > 0 ? (this.doneRows * 1000) / this.doneMs : 0;
  }

  /**
   * Overload: behind by more than BEHIND_MS and rows arriving clearly faster than the processor gets
   * through them. Behind alone (a hiccup) is caught up flat out; outpaced without being behind is a
   * burst the processor absorbs.
   */
  private overloaded(): boolean {
    if (this.probe?.bursting()) return true;
    const behind = this.oldestWaitMs();
    return this.saturated ? behind > BEHIND_SATURATED_MS : overloaded(behind, this.arrivals.perSecond(), this.throughput());
  }

  /** Overloaded while ingress is busy: the processor (and the inbox worker) step back for ingress. */
  stepsBack(): boolean {
    return this.overloaded() && this.busy();
  }

  /** True when rows queued here have waited `ms` or more (the inbox worker could claim them too). */
  holdsRowsOlderThan(ms: number): boolean {
    return this.oldestWaitMs() >= ms;
  }

  /** How long the oldest queued row has waited (-Infinity when none is queued). */
  oldestWaitMs(): number {
    return performance.now() - this.oldestQueuedAt();
  }

  private recordBatch(rows: number, startedAt: number): void {
    const now = performance.now();
    this.lastBatchMs = now - startedAt;
    this.doneRows = this.doneRows * THROUGHPUT_DECAY + rows;
    this.doneMs = this.doneMs * THROUGHPUT_DECAY + (now - Math.max(startedAt, this.lastBatchEnd));
    this.lastBatchEnd = now;
  }

  /** Waits while ingress is hot: until it has calmed down, or YIELD_FACTOR × the last batch. */
  private async yieldToIngress(): Promise<void> {
    const factor = this.probe?.bursting() ? BURST_YIELD_FACTOR : YIELD_FACTOR;
    const until = performance.now() + Math.min(MAX_YIELD_MS, factor * this.lastBatchMs);
    while (this.busy() && performance.now() < until) await sleep(2);
  }

  private async run(): Promise<void> {
    this.running += 1;
    try {
      for (;;) {
        if (this.stepsBack()) await this.yieldToIngress();
        const n = this.next();
        if (!n) break;
        if (this.probe?.pausing()) {
          await sleep(5);
          continue;
        }
        if (!n.ready) {
          await sleep(Math.max(1, Math.min(5, n.waitMs)));
          continue;
        }
        const batch = this.take(n.tenantId);
        const t0 = performance.now();
        try {
          // New messages in one call; anything else (statuses, unparseable rows) the general way.
          const general = await ingestReceived(this.ctx, n.tenantId, batch);
          if (general.length > 0) await processBatch(this.ctx, n.tenantId, general.map((r) => r.id), new Map(general.map((r) => [r.id, r])));
          this.recordBatch(batch.length, t0);
        } catch (err) {
          // Whatever failed stays pending in the inbox; `run` is never awaited, so nothing may escape.
          this.ctx.logger.warn({ err: (err as Error)?.message, inbox_id: batch[0]!.id }, 'inline processing failed; the worker will retry');
        }
        if (!this.hot(CALM_BEFORE_PARALLEL_MS)) this.pump();
      }
    } finally {
      this.running -= 1;
      if (this.running === 0) for (const w of this.waiters.splice(0)) w();
    }
  }

  idle(): Promise<void> {
    return this.running === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }

  /** Shutdown: waits for in-flight work (nothing else to stop on the thread that owns it). */
  close(): Promise<void> {
    return this.idle();
  }
}
