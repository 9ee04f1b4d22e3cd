import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import type { Worker } from '../app/workers.js';
import { periodic } from '../app/periodic.js';
import { asTenantId } from '../db/db.js';
import { AppError } from '../core/errors.js';
import { checkChannelHealth } from './service.js';

/**
 * Periodic channel health: every active line gets a live connection test at most every
 * `intervalSeconds` (default 5 minutes; Meta's and WAHA's status endpoints are cheap reads), the
 * result stored in `channels.health` and shown by the API. A failing line is visible before the
 * first message to it fails. Several workers may check the same line at the same moment; that only
 * costs a duplicate read.
 */
export async function runHealthSweep(ctx: AppContext, p: { olderThanSeconds: number; limit: number }): Promise<number> {
  const { rows } = await sql<{ tenant_id: string; id: string }>`select * from sb_channels_due_health(${p.olderThanSeconds}, ${p.limit})`.execute(ctx.db);
  for (const r of rows) {
    let ch: Awaited<ReturnType<typeof checkChannelHealth>>;
    try {
      ch = await checkChannelHealth(ctx, asTenantId(r.tenant_id), r.id);
    } catch (err) {
      // Deleted while it was tested (not_found): nothing to record. Either way the round goes on.
      if (!(err instanceof AppError && err.code === 'not_found')) ctx.logger.warn({ err: (err as Error)?.message, tenant_id: r.tenant_id, channel_id: r.id }, 'channel health check could not be recorded');
      continue;
    }
    if (!(ch.health as { ok?: boolean }).ok) ctx.logger.warn({ tenant_id: r.tenant_id, channel_id: r.id, health: ch.health }, 'channel health check failed');
  }
  return rows.length;
}

export function channelHealthWorker(intervalSeconds = 300): Worker {
  return {
    name: 'channel-health',
    start: (ctx) =>
      periodic(ctx, 'channel-health', { firstMs: 5_000, everyMs: 15_000 }, () => runHealthSweep(ctx, { olderThanSeconds: intervalSeconds, limit: 20 })),
  };
}
