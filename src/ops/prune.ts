import { sql } from 'kysely';
import type { Worker } from '../app/workers.js';
import { periodic } from '../app/periodic.js';
import type { AppContext } from '../app/context.js';
import { idFloor } from '../core/ids.js';

/**
 * Retention sweep (migrations 023, 028 and 030 say what is kept how long): every 10 minutes, delete
 * expired idempotency keys, old inbound dedupe marks and old reject records, and events older than
 * EVENTS_RETENTION_DAYS with their deliveries (decision 032) and the outbound status changes of
 * that age, `batch` rows a table per call (events: in all, tenant after tenant; migration 034),
 * repeating while a call still finds work.
 */
export async function pruneOnce(ctx: AppContext, batch = 5_000, now = Date.now()): Promise<number> {
  const days = ctx.config.eventsRetentionDays;
  const cutoffMs = now - days * 86_400_000;
  let total = 0;
  for (const call of [
    () => sql<{ n: number }>`select sb_prune(${batch}) as n`,
    ...(days > 0
      ? [
          () => sql<{ n: number }>`select sb_prune_events(${idFloor('evt', cutoffMs)}, ${batch}) as n`,
          () => sql<{ n: number }>`select sb_prune_status_log(${new Date(cutoffMs)}, ${batch}) as n`,
        ]
      : []),
  ]) {
    for (;;) {
      const { rows } = await call().execute(ctx.db);
      const n = Number(rows[0]?.n ?? 0);
      total += n;
      if (n < batch) break;
    }
  }
  return total;
}

export const pruneWorker: Worker = {
  name: 'prune',
  start: (ctx) =>
    periodic(ctx, 'prune', { firstMs: 60_000, everyMs: 10 * 60_000 }, async () => {
      const n = await pruneOnce(ctx);
      if (n > 0) ctx.logger.info({ rows: n }, 'retention sweep');
    }),
};
