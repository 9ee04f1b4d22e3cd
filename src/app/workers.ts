import type { AppContext } from './context.js';
import { deliveryWorker } from '../delivery/worker.js';
import { inboundWorker } from '../inbound/worker.js';
import { channelHealthWorker } from '../channels/health.js';
import { pruneWorker } from '../ops/prune.js';
import { statisticsWorker } from '../ops/statistics.js';
import { queueVacuumWorker } from '../ops/vacuum.js';

/**
 * Background roles run by `switchboard work` (and `start`). Each starts its loop and returns a stop
 * function that resolves once in-flight work is finished or handed back. Features register here.
 */
export type Worker = { name: string; start(ctx: AppContext): () => Promise<void> };

export const WORKERS: Worker[] = [deliveryWorker, inboundWorker, channelHealthWorker(), pruneWorker, statisticsWorker, queueVacuumWorker];

/** Starts every worker, or those named in `only` (the benchmarks run a subset beside their own scheduler). */
export function startWorkers(ctx: AppContext, only?: readonly string[]): () => Promise<void> {
  const unknown = only?.filter((n) => !WORKERS.some((w) => w.name === n)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown worker(s): ${unknown.join(', ')}`);
  const stops = WORKERS.filter((w) => !only || only.includes(w.name)).map((w) => {
    ctx.logger.info({ worker: w.name }, 'worker started');
    return w.start(ctx);
  });
  return async () => {
    await Promise.all(stops.map((s) => s()));
  };
}
