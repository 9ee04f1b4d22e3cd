import { sql } from 'kysely';
import type { Worker } from '../app/workers.js';
import { periodic } from '../app/periodic.js';
import type { AppContext } from '../app/context.js';

/**
 * Retention sweep (migration 023 says what is kept how long): every 10 minutes, delete expired
 * idempotency keys, old inbound dedupe marks and old reject records, 5,000 rows a table per call,
 * repeating while a call still finds work.
 */
export async function pruneOnce(ctx: AppContext, batch = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const { rows } = await sql<{ n: number }>`select sb_prune(${batch}) as n`.execute(ctx.db);
    const n = Number(rows[0]?.n ?? 0);
    total += n;
    if (n < batch) return total;
  }
}

export const pruneWorker: Worker = {
  name: 'prune',
  start: (ctx) =>
    periodic(ctx, 'prune', { firstMs: 60_000, everyMs: 10 * 60_000 }, async () => {
      const n = await pruneOnce(ctx);
      if (n > 0) ctx.logger.info({ rows: n }, 'retention sweep');
    }),
};
