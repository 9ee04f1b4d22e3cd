import type { AppContext } from '../app/context.js';
import { drainInbox, WORKER_MIN_AGE_MS } from './normalise.js';
import { inboundPipeline } from './pipeline.js';
import { deliverDue, finishDeliveries } from '../events/deliver.js';

/**
 * Background loops of the inbound side: drain inbox rows that inline processing did not finish
 * (crash after the 200, a node without traffic), and deliver tenant webhooks. Polling every 250 ms
 * when idle, immediately again when a batch was full; each loop is independent so a slow tenant
 * endpoint (deliveries wait up to 10 s) never delays inbox processing.
 */
const IDLE_MS = 250;

function loop(ctx: AppContext, name: string, step: () => Promise<number>, full: number): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      let n = 0;
      try {
        n = await step();
      } catch (err) {
        ctx.logger.warn({ worker: name, err: (err as Error)?.message }, 'worker step failed');
      }
      if (!stopped) timer = setTimeout(tick, n >= full ? 0 : IDLE_MS);
    })();
  };
  tick();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await running;
  };
}

/**
 * One pass of the inbox safety net. It steps back while this process's inline processor does
 * (overload: ingress comes first, decision 028), and while that processor still holds rows old
 * enough for the worker to claim — it would read again, from the database, bodies the processor has
 * in memory. Never merely because ingress is busy: under a steady load ingress is always busy, and
 * rows of a process that crashed after acknowledging would wait for the load to end.
 */
export function inboxStep(ctx: AppContext): () => Promise<number> {
  const { inline } = inboundPipeline(ctx);
  return async () => (inline.stepsBack() || inline.holdsRowsOlderThan(WORKER_MIN_AGE_MS) ? 0 : drainInbox(ctx, 500));
}

export const inboundWorker = {
  name: 'inbound-events',
  start(ctx: AppContext): () => Promise<void> {
    const stops = [
      loop(ctx, 'inbox', inboxStep(ctx), 500),
      loop(ctx, 'event-deliveries', () => deliverDue(ctx), 1),
    ];
    return async () => {
      await Promise.all(stops.map((s) => s()));
      // Deliveries started by the loop run on: let them finish (or hand them back) before the context closes.
      await finishDeliveries(ctx);
    };
  },
};
