import { sql, type RawBuilder } from 'kysely';
import type { Worker } from '../app/workers.js';
import { periodic } from '../app/periodic.js';
import type { AppContext } from '../app/context.js';
import { idFloor } from '../core/ids.js';
import { asTenantId, withTenant } from '../db/db.js';
import { applyParkedStatuses } from '../messages/status.js';

/**
 * Retention sweep (migrations 023, 028, 030 and 037 say what is kept how long): every 10 minutes, delete
 * expired idempotency keys, old inbound dedupe marks and old reject records, and events older than
 * EVENTS_RETENTION_DAYS with their deliveries (decision 032) and the outbound status changes of
 * that age, `batch` rows a table per call (events: in all, tenant after tenant, each call resuming
 * where the last stopped; migrations 034 and 035), repeating while a call still finds work.
 */
export async function pruneOnce(ctx: AppContext, batch = 5_000, now = Date.now()): Promise<number> {
  const days = ctx.config.eventsRetentionDays;
  const cutoffMs = now - days * 86_400_000;
  let total = 0;
  const repeat = async (call: () => Promise<number>) => {
    for (;;) {
      const n = await call();
      total += n;
      if (n < batch) return;
    }
  };
  const count = async (query: RawBuilder<{ n: number }>) => Number((await query.execute(ctx.db)).rows[0]?.n ?? 0);
  // Revokes and edits parked while their message was being stored by a transaction they could not see (migration 050).
  await repeat(() => count(sql<{ n: number }>`select sb_apply_parked_changes(${batch}) as n`));
  await repeat(() => applyFoundStatuses(ctx, batch));
  await repeat(() => count(sql<{ n: number }>`select sb_prune(${batch}) as n`));
  if (days <= 0) return total;
  // Events: each call resumes at the tenant the last one stopped in (migration 035).
  let from = '';
  await repeat(async () => {
    const { rows } = await sql<{ deleted: number; stopped_at: string }>`select * from sb_prune_events(${idFloor('evt', cutoffMs)}, ${batch}, ${from})`.execute(ctx.db);
    from = rows[0]?.stopped_at ?? from;
    return Number(rows[0]?.deleted ?? 0);
  });
  await repeat(() => count(sql<{ n: number }>`select sb_prune_status_log(${new Date(cutoffMs)}, ${batch}) as n`));
  return total;
}

/**
 * Receipts parked while their message was being given its provider id by a transaction they could
 * not see (migration 051): applied now, tenant by tenant, with the monotonic rule and their
 * `message.status` events. The messages are locked first, in id order, as the worker's flush locks
 * them before it takes the parked receipts.
 */
async function applyFoundStatuses(ctx: AppContext, batch: number): Promise<number> {
  const { rows } = await sql<{ tenant_id: string; channel_id: string; provider_message_id: string }>`
    select * from sb_parked_statuses_found(${batch})`.execute(ctx.db);
  const byTenant = new Map<string, { channelId: string; providerMessageId: string }[]>();
  for (const r of rows) {
    const list = byTenant.get(r.tenant_id) ?? [];
    if (list.length === 0) byTenant.set(r.tenant_id, list);
    list.push({ channelId: r.channel_id, providerMessageId: r.provider_message_id });
  }
  let applied = 0;
  for (const [tenantId, found] of byTenant) {
    try {
      await withTenant(ctx.db, asTenantId(tenantId), async (tx) => {
        await sql`select m.id from messages m
          join unnest(${found.map((f) => f.channelId)}::text[], ${found.map((f) => f.providerMessageId)}::text[]) as f(ch, pid)
            on m.channel_id = f.ch and m.provider_message_id = f.pid
          where m.tenant_id = ${tenantId} and m.direction = 'out' order by m.id for update of m`.execute(tx);
        await applyParkedStatuses(tx, tenantId, found);
      });
      applied += found.length;
    } catch (err) {
      // A deadlock with an inbound batch locking the same messages in webhook order, say: the next
      // sweep tries again, and the rest of this one (retention) still runs.
      ctx.logger.warn({ err: (err as Error)?.message, tenant_id: tenantId }, 'parked receipts could not be applied; the next sweep tries again');
    }
  }
  if (applied > 0) ctx.logger.info({ receipts: applied }, 'parked receipts applied by the sweep');
  return applied;
}

export const pruneWorker: Worker = {
  name: 'prune',
  start: (ctx) =>
    periodic(ctx, 'prune', { firstMs: 60_000, everyMs: 10 * 60_000 }, async () => {
      const n = await pruneOnce(ctx);
      if (n > 0) ctx.logger.info({ rows: n }, 'retention sweep');
    }),
};
