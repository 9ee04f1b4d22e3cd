import { sql } from 'kysely';
import { AppError } from '../core/errors.js';
import type { TenantId, Tx } from '../db/db.js';
import { effectiveLimits } from '../tenants/limits.js';
import './schema.js';

/**
 * Quota windows follow the tenant's day: UTC today (tenants carry no time zone yet; decision 013).
 * Counters are keyed by period, so "reset" is a new row at the boundary — nothing to sweep in time.
 */
export function periods(now: Date): { day: string; month: string; secondsToDayEnd: number; secondsToMonthEnd: number } {
  const day = now.toISOString().slice(0, 10);
  const nextDay = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return {
    day: `d:${day}`,
    month: `m:${day.slice(0, 7)}`,
    secondsToDayEnd: Math.max(1, Math.ceil((nextDay - now.getTime()) / 1000)),
    secondsToMonthEnd: Math.max(1, Math.ceil((nextMonth - now.getTime()) / 1000)),
  };
}

/**
 * Adds `n` to a counter; the first message of a period since the limit applied seeds it from what was
 * already sent in it (messages, and deleted channels' retired counts), so a limit added mid-month
 * counts the month's earlier messages too. One SQL function (migrations 012, 046), shared with the
 * single-message accept.
 */
async function bump(tx: Tx, tenantId: TenantId, scope: string, period: string, n: number): Promise<number> {
  const r = await sql<{ count: number }>`select sb_quota_bump(${tenantId}, ${scope}, ${period}, ${n}) as count`.execute(tx);
  return r.rows[0]!.count;
}

/**
 * Takes `perChannel` messages from the tenant's day and month quotas and from each channel's daily
 * limit, inside the accept transaction: over quota throws 429 `quota_exceeded` with Retry-After at
 * the window's end and the transaction (counters included) rolls back. Counters are only touched
 * when a limit applies: an unlimited tenant pays no hot-row update per message (decision 013).
 */
export async function takeQuota(
  tx: Tx,
  tenantId: TenantId,
  now: Date,
  perChannel: Map<string, { count: number; dailyLimit: number | null }>,
): Promise<void> {
  const p = periods(now);
  const limits = await effectiveLimits(tx, tenantId);
  const total = [...perChannel.values()].reduce((a, c) => a + c.count, 0);
  const over = (what: string, limit: number, retry: number) =>
    new AppError('quota_exceeded', `${what} of ${limit} messages is used up`, { retryAfterSeconds: retry, details: { limit, window: what } });
  if (limits.messages_per_day !== null && (await bump(tx, tenantId, 'tenant', p.day, total)) > limits.messages_per_day) {
    throw over('the daily quota', limits.messages_per_day, p.secondsToDayEnd);
  }
  if (limits.messages_per_month !== null && (await bump(tx, tenantId, 'tenant', p.month, total)) > limits.messages_per_month) {
    throw over('the monthly quota', limits.messages_per_month, p.secondsToMonthEnd);
  }
  for (const [channelId, c] of [...perChannel.entries()].sort()) {
    if (c.dailyLimit !== null && (await bump(tx, tenantId, channelId, p.day, c.count)) > c.dailyLimit) {
      throw over(`the daily limit of channel ${channelId}`, c.dailyLimit, p.secondsToDayEnd);
    }
  }
}
