import { readFileSync } from 'node:fs';
import { cpuSecondsOf } from '../core/proc-stat.js';
import type { AppContext } from '../app/context.js';
import { InboxWriter } from './inbox.js';
import { InlineProcessor } from './inline.js';
import type { InboxItem } from './normalise.js';
import { sharedNow, ThreadedInline } from './inline-thread.js';

/**
 * How hot this process's webhook ingress is: HOT_INFLIGHT or more requests waiting for their answer
 * (on the bench ~30–60 wait at saturation, and also ~35 at 4,000/s, so hot alone does not mean
 * overloaded — the inline processor decides that with its own rates, decision 028); "hot" lasts
 * CALM_MS after that was last seen, so a brief dip does not let a long normaliser batch in.
 *
 * The state lives in a SharedArrayBuffer (requests open, when last hot, in ms since `base`), so the
 * processing thread (decision 030) reads the same gauge the webhook routes move:
 * `new IngressGauge(other.share)` is a view of another thread's gauge.
 */
const HOT_INFLIGHT = 16;
const CALM_MS = 50;
/**
 * Saturated (sampled only while the normaliser runs on its own thread, decision 030): the thread
 * that answers webhooks used SATURATED of a core over the last SAMPLE_MS — CPU time of that thread
 * (Linux: /proc/self/task/<pid>/stat), not the event loop's busy share, which on a machine with
 * more runnable threads than cores counts time the thread waits for a core (at half of the bench's
 * peak it read 0.9–1.0 while the thread used about half a core). Elsewhere, the busy share.
 */
const SATURATED = 0.85;
const SAMPLE_MS = 200;
const OPEN = 0;
const HOT_AT = 1;
const BUSY = 2; // per mille
const ANSWERED = 3; // requests closed so far (wraps; differences stay right)

export interface GaugeShare {
  buffer: SharedArrayBuffer;
  base: number;
}

export class IngressGauge {
  private readonly cells: Int32Array;
  readonly share: GaugeShare;

  constructor(share?: GaugeShare) {
    this.share = share ?? { buffer: new SharedArrayBuffer(16), base: sharedNow() };
    this.cells = new Int32Array(this.share.buffer);
    if (!share) Atomics.store(this.cells, HOT_AT, -1_000_000); // never hot yet
  }

  private now(): number {
    return sharedNow() - this.share.base;
  }

  enter(): void {
    const open = Atomics.add(this.cells, OPEN, 1) + 1;
    if (open >= HOT_INFLIGHT) Atomics.store(this.cells, HOT_AT, this.now());
  }

  leave(): void {
    Atomics.sub(this.cells, OPEN, 1);
    Atomics.add(this.cells, ANSWERED, 1);
  }

  /** Webhook requests closed so far (a counter that wraps at 2^31: use differences). */
  get answered(): number {
    return Atomics.load(this.cells, ANSWERED);
  }

  /** Webhook requests received and not yet closed. */
  get inflight(): number {
    return Atomics.load(this.cells, OPEN);
  }

  /** Requests were queueing within the last `withinMs` (CALM_MS: hot now). */
  hot(withinMs = CALM_MS): boolean {
    const now = this.now();
    if (this.inflight >= HOT_INFLIGHT) Atomics.store(this.cells, HOT_AT, now);
    return now - Atomics.load(this.cells, HOT_AT) < withinMs;
  }

  /** The acknowledging thread had no spare capacity over the last sample (see SATURATED). */
  saturated(): boolean {
    return Atomics.load(this.cells, BUSY) >= SATURATED * 1000;
  }

  /**
   * Samples the calling thread's CPU use into the gauge every SAMPLE_MS; returns a stop. `cpu` is
   * the thread's CPU milliseconds so far (null where unknown: the event loop's busy share instead).
   */
  sampleLoad(cpu: () => number | null = threadCpuMs()): () => void {
    let last = { at: performance.now(), cpu: cpu(), elu: performance.eventLoopUtilization() };
    const timer = setInterval(() => {
      const now = { at: performance.now(), cpu: cpu(), elu: performance.eventLoopUtilization() };
      const busy = now.cpu !== null && last.cpu !== null ? (now.cpu - last.cpu) / (now.at - last.at) : performance.eventLoopUtilization(now.elu, last.elu).utilization;
      Atomics.store(this.cells, BUSY, Math.round(busy * 1000));
      last = now;
    }, SAMPLE_MS);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/** CPU milliseconds the process's main thread (where the gauge samples) has used, or null where /proc does not tell. */
export function threadCpuMs(): () => number | null {
  const file = `/proc/self/task/${process.pid}/stat`;
  return () => {
    try {
      return cpuSecondsOf(readFileSync(file, 'utf8')) * 1000;
    } catch {
      return null;
    }
  };
}

/** What the webhook routes and the inbox worker need of the inline processor, wherever it runs. */
export interface InlineSink {
  kick(rows: InboxItem[]): void;
  /** Overloaded while acknowledgements queue: the processor (and the inbox worker) step back. */
  stepsBack(): boolean;
  /** True when rows queued for processing have waited `ms` or more. */
  holdsRowsOlderThan(ms: number): boolean;
  /** Resolves when nothing is being processed (shutdown). */
  idle(): Promise<void>;
  /** Shutdown: waits for in-flight work, then stops the processing thread if there is one. */
  close(): Promise<void>;
}

/**
 * One process's inbound pipeline: the acknowledge path's group-committing inbox writer, the gauge
 * of its load, and the inline normaliser, which yields to it (decision 026). Shared by the webhook
 * routes and the inbox worker of the same context, so the worker steps back when the processor does
 * (src/inbound/worker.ts). Created on first use (no import-time state); one per AppContext. The
 * normaliser runs on this thread unless `useInboundThread` was called first (decision 030).
 */
export interface InboundPipeline {
  inbox: InboxWriter;
  ingress: IngressGauge;
  inline: InlineSink;
}

const pipelines = new WeakMap<AppContext, InboundPipeline>();

const onThisThread = (ctx: AppContext, ingress: IngressGauge): InlineSink => new InlineProcessor(ctx, (withinMs) => ingress.hot(withinMs));

export function inboundPipeline(ctx: AppContext): InboundPipeline {
  let p = pipelines.get(ctx);
  if (!p) {
    const ingress = new IngressGauge();
    p = { inbox: new InboxWriter(ctx), ingress, inline: onThisThread(ctx, ingress) };
    pipelines.set(ctx, p);
  }
  return p;
}

/**
 * Runs this context's inline normaliser on a worker thread with its own database pool (decision
 * 030). Call before the webhook routes are built. Should the thread die, processing continues on
 * this thread (rows it held stay pending in the inbox for the inbox worker).
 */
export function useInboundThread(ctx: AppContext, appUrl: string): InboundPipeline {
  if (pipelines.has(ctx)) throw new Error('useInboundThread must come before the inbound pipeline is first used');
  const ingress = new IngressGauge();
  const p: InboundPipeline = {
    inbox: new InboxWriter(ctx),
    ingress,
    inline: new ThreadedInline(ctx, appUrl, ingress.share, () => onThisThread(ctx, ingress), () => ingress.sampleLoad()),
  };
  pipelines.set(ctx, p);
  return p;
}
