import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { AppError } from '../core/errors.js';
import { withTenant, type TenantId } from '../db/db.js';

export interface UsageRow {
  tenant_id?: string;
  day: string;
  channel_id: string;
  direction: 'in' | 'out';
  type: string;
  /** pending (queued/sending) | sent | delivered | read | played | failed | cancelled | received */
  outcome: string;
  count: number;
}

/** Inclusive UTC day range of at most 366 days, so one request cannot scan years of messages. */
export function dayRange(from: string | undefined, to: string | undefined, now: Date): { from: string; to: string } {
  const today = now.toISOString().slice(0, 10);
  const t = to ?? today;
  const f = from ?? `${t.slice(0, 8)}01`;
  const days = (Date.parse(t) - Date.parse(f)) / 86_400_000;
  // PostgreSQL has no year 0 (JavaScript does): refused here, not as an unstorable value.
  if (f < '0001-01-01' || t < '0001-01-01') throw new AppError('validation_failed', 'dates start at 0001-01-01');
  // `days` counts the days after `from`: 365 of them make the inclusive range 366 days long.
  if (!(days >= 0) || days > 365) throw new AppError('validation_failed', '`from` must not be after `to`, and the range at most 366 days');
  return { from: f, to: t };
}

/**
 * Usage per tenant per UTC day by channel, direction, type and outcome, computed from the messages
 * themselves (decision 013): one source of truth, no counter to drift, and the outcome is the
 * message's current status, so a day's figures settle as deliveries complete. The basis for
 * usage-based billing; `messages_created` index (tenant, created_at) keeps it to one range scan.
 */
export const tenantUsage = (ctx: AppContext, tenantId: TenantId, range: { from: string; to: string }) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    // Deleted channels' messages are gone, their counts kept in usage_retired (migration 046).
    const r = await sql<UsageRow & { day: Date }>`
      select day, channel_id, direction, type, outcome, sum(n)::int as count from (
        select (created_at at time zone 'UTC')::date as day, channel_id, direction, type,
               case when status in ('queued', 'sending') then 'pending' else status end as outcome, 1 as n
        from messages
        where created_at >= ${range.from}::date::timestamp at time zone 'UTC' and created_at < (${range.to}::date + 1)::timestamp at time zone 'UTC'
        union all
        select day, channel_id, direction, type, outcome, count from usage_retired where day between ${range.from}::date and ${range.to}::date
      ) u
      group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`.execute(tx);
    return r.rows.map((x) => ({ ...x, day: dayString(x.day) }));
  });

/** Superadmin: every tenant, through the narrow `sb_usage_all` (messages are not platform-readable). */
export async function allUsage(ctx: AppContext, range: { from: string; to: string }): Promise<UsageRow[]> {
  const r = await sql<UsageRow & { day: Date }>`select tenant_id, day, channel_id, direction, type, outcome, count::int as count from sb_usage_all(${range.from}::date, ${range.to}::date)`.execute(ctx.db);
  return r.rows.map((x) => ({ ...x, day: dayString(x.day) }));
}

function dayString(d: Date | string): string {
  if (typeof d === 'string') return d.slice(0, 10);
  // pg parses `date` as local midnight; format it back in local time.
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

const csvCell = (v: unknown): string => {
  const s = String(v ?? '');
  // Quote when needed; a leading = + - @ would be a formula in a spreadsheet (CSV injection).
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

export function toCsv(rows: UsageRow[], withTenant: boolean): string {
  const cols = [...(withTenant ? ['tenant_id'] : []), 'day', 'channel_id', 'direction', 'type', 'outcome', 'count'] as const;
  return [cols.join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c as keyof UsageRow])).join(','))].join('\r\n') + '\r\n';
}
