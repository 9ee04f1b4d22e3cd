import { Worker } from 'node:worker_threads';
import type { AppContext } from '../app/context.js';
import { PROCESSING_THREAD_NICE } from '../app/priority.js';
import type { InboxItem } from './normalise.js';
import type { GaugeShare, InlineSink } from './pipeline.js';

/**
 * Milliseconds on a clock every thread of the process reads alike and that does not jump with the
 * wall clock (each thread's `performance.now()` counts from its own start; `timeOrigin` puts them
 * on one scale).
 */
export const sharedNow = (): number => performance.timeOrigin + performance.now();

export const PUBLISH_MS = 25;
/** Slots of the state the thread publishes (Int32, ms since the gauge's base). */
export const STEPS_BACK = 0;
export const OLDEST_AT = 1;
export const NONE = -2_147_483_648;

type Incoming = { type: 'idle'; n: number };

/**
 * The inline normaliser on a worker thread of its own (decision 030), seen from the main thread.
 *
 * Normalising a webhook (JSON, addresses, ids, the batch's SQL document) took 63–87 µs of the main
 * thread per message (server process CPU while the bench drained its backlog), on the same event
 * loop that answers webhooks: ~18 % of that loop's busy time at half of the bench's peak (V8 CPU
 * profile; ~5 % at the peak, where the overload rule holds processing back). On its own thread the
 * same `InlineProcessor` runs beside ingress instead of between its requests.
 *
 * - Rows acknowledged in one turn of the event loop go over in one message (bodies are copied).
 * - The thread reads the main thread's ingress gauge from shared memory (its overload rule needs
 *   "hot" and "saturated") and publishes, every PUBLISH_MS and when rows arrive, whether it steps
 *   back and how old its oldest queued row is, for the inbox worker on the main thread
 *   (src/inbound/worker.ts).
 * - If the thread dies, the rows it held stay pending in the inbox (the inbox worker claims rows
 *   older than 2 s) and processing continues on the main thread (`fallback`).
 */
export class ThreadedInline implements InlineSink {
  private worker: Worker | undefined;
  private fallback: InlineSink | undefined;
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  private pending: InboxItem[] = [];
  private scheduled = false;
  private closing = false;
  private idleSeq = 0;
  private readonly idleWaiters = new Map<number, () => void>();
  private exited: Promise<void>;
  private readonly stopSampling: () => void;

  constructor(
    ctx: AppContext,
    appUrl: string,
    private readonly gauge: GaugeShare,
    private readonly makeFallback: () => InlineSink,
    sampleLoad: () => () => void,
  ) {
    this.stopSampling = sampleLoad();
    Atomics.store(this.state, OLDEST_AT, NONE);
    const { masterKey, previousMasterKeys, ...rest } = ctx.config;
    this.worker = new Worker(new URL('./inline-thread-entry.mjs', import.meta.url), {
      workerData: {
        config: { ...rest, masterKey: masterKey?.toString('base64'), previousMasterKeys: previousMasterKeys.map((k) => k.toString('base64')) },
        appUrl,
        gauge,
        state: this.state.buffer,
        nice: PROCESSING_THREAD_NICE,
      },
    });
    this.worker.unref();
    this.worker.on('message', (m: Incoming) => this.onMessage(m));
    this.worker.on('error', (err) => ctx.logger.error({ err: err.message }, 'inbound processing thread failed'));
    this.exited = new Promise((resolve) => {
      this.worker!.once('exit', (code) => {
        this.worker = undefined;
        this.stopSampling();
        Atomics.store(this.state, STEPS_BACK, 0);
        Atomics.store(this.state, OLDEST_AT, NONE);
        for (const w of this.idleWaiters.values()) w();
        this.idleWaiters.clear();
        if (!this.closing) {
          ctx.logger.error({ code }, 'inbound processing thread exited; processing continues on the main thread');
          this.fallback = this.makeFallback();
        }
        resolve();
      });
    });
  }

  private onMessage(m: Incoming): void {
    if (m.type === 'idle') {
      this.idleWaiters.get(m.n)?.();
      this.idleWaiters.delete(m.n);
    }
  }

  kick(rows: InboxItem[]): void {
    if (this.fallback) return this.fallback.kick(rows);
    if (!this.worker || this.closing) return; // stays pending in the inbox
    for (const r of rows) this.pending.push(r);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.post());
  }

  private post(): void {
    this.scheduled = false;
    const rows = this.pending;
    this.pending = [];
    if (rows.length > 0) this.worker?.postMessage({ type: 'rows', rows });
  }

  stepsBack(): boolean {
    return this.fallback ? this.fallback.stepsBack() : Atomics.load(this.state, STEPS_BACK) === 1;
  }

  holdsRowsOlderThan(ms: number): boolean {
    if (this.fallback) return this.fallback.holdsRowsOlderThan(ms);
    const at = Atomics.load(this.state, OLDEST_AT);
    return at !== NONE && sharedNow() - this.gauge.base - at >= ms;
  }

  idle(): Promise<void> {
    if (this.fallback) return this.fallback.idle();
    if (!this.worker) return Promise.resolve();
    this.post();
    const n = ++this.idleSeq;
    const done = new Promise<void>((resolve) => this.idleWaiters.set(n, resolve));
    this.worker.postMessage({ type: 'idle', n });
    return done;
  }

  async close(): Promise<void> {
    if (this.fallback) return this.fallback.close();
    if (!this.worker) return;
    await this.idle();
    this.closing = true;
    this.worker?.postMessage({ type: 'close' });
    const timer = setTimeout(() => void this.worker?.terminate(), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Test hook: ends the thread as a crash would. */
  async kill(): Promise<void> {
    await this.worker?.terminate();
    await this.exited;
  }
}
