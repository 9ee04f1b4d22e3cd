import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import type { Worker } from '../app/workers.js';
import { periodic } from '../app/periodic.js';

/**
 * Keeps planner statistics fresh while tables are young (migrations 007 and 029, decision 006):
 * every 5 s, ANALYZE the tables that were never analyzed, or whose live rows grew past 1.5× or fell
 * under half of what their last analysis counted.
 * Returns the tables it analyzed.
 */
export async function refreshStatistics(ctx: AppContext, minRows = 1_000): Promise<string[]> {
  const { rows } = await sql<{ t: string[] }>`select sb_refresh_statistics(${minRows}) as t`.execute(ctx.db);
  return rows[0]?.t ?? [];
}

export const statisticsWorker: Worker = {
  name: 'statistics',
  start: (ctx) =>
    periodic(ctx, 'statistics', { firstMs: 0, everyMs: 5_000 }, async () => {
      const t0 = performance.now();
      const tables = await refreshStatistics(ctx);
      if (tables.length > 0) ctx.logger.info({ tables, ms: Math.round(performance.now() - t0) }, 'planner statistics refreshed');
    }),
};
