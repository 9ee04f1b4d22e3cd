import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { AppError, notFound } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { GroupCommit } from '../core/group-commit.js';
import type { TenantId } from '../db/db.js';
import { periods } from '../delivery/quota.js';
import type { SendInput } from './validate.js';

/**
 * Which provider each channel uses, learned from earlier accepts (decision 017). Only a hint: the
 * SQL function checks it against the row and answers 'provider_changed' when it is wrong, so a stale
 * entry costs one fall-back to the full path, never a wrong answer. Keyed by tenant + channel so one
 * tenant's entries are never used for another (and RLS would hide the channel anyway). Channel
 * status, limits and plan quotas are NOT cached: the function reads them in the same call.
 */
const providers = new Map<string, string>();
const MAX_ENTRIES = 50_000; // ~5 MB at worst; cleared whole when full (a refill is one slow accept per channel)

export function rememberProvider(tenantId: TenantId, channelId: string, provider: string): void {
  if (providers.size >= MAX_ENTRIES) providers.clear();
  providers.set(`${tenantId}\n${channelId}`, provider);
}

export type Prepared = SendInput & { peer: string };
export interface AcceptedOne {
  id: string;
  status: 'queued';
  conversation_id: string;
  to: string;
}

interface Pending {
  tenantId: TenantId;
  provider: string;
  m: Prepared;
  id: string;
  resolve: (r: AcceptedOne | null) => void;
  reject: (err: unknown) => void;
}

/**
 * Rows per call and calls in flight (src/core/group-commit.ts). A second (third, fourth) concurrent
 * call starts only once MIN_PARALLEL requests wait: a call costs ~0.8 ms of PostgreSQL time plus ~70 µs per row
 * (decision 018), so small parallel calls cost more than they save. Measured on the 2-core VM with
 * 32 clients: 1 call at a time 6,070 accepted/s (groups of 13.5); up to 4 of at least 16 rows,
 * 6,540-6,930/s; up to 4 of any size, 4,120/s (groups of 4).
 */
const MAX_ROWS = 256;
const MAX_FLUSHES = 4;
const MIN_PARALLEL = 16;

/**
 * Single-message accepts of warm channels, group-committed per tenant through `sb_accept_messages`
 * (migration 014, decision 018). Each request still gets its 202 only after the call that wrote its
 * row committed. Answers are per row: 404, channel_disabled, or null ("take the full path": stale
 * provider hint, content the hinted provider refuses, channel not seen yet by this process). A call
 * that fails as a whole (over quota, a database error) is retried one row per call, so one request's
 * 429 never becomes its neighbours' answer.
 */
export class AcceptQueue {
  private readonly groups: GroupCommit<Pending>;
  constructor(private readonly ctx: AppContext) {
    this.groups = new GroupCommit<Pending>({ maxRows: MAX_ROWS, maxFlushes: MAX_FLUSHES, minParallel: MIN_PARALLEL, select: oldestTenant, flush: (g) => this.flush(g) });
  }

  /** Accepts one message, or resolves null when the full path must answer it. */
  accept(tenantId: TenantId, m: Prepared): Promise<AcceptedOne | null> {
    const provider = providers.get(`${tenantId}\n${m.channel_id}`);
    if (provider === undefined) return Promise.resolve(null);
    const def = this.ctx.providers.definition(provider);
    if (!def.capabilities.content.includes(m.content.type) || (def.checkContent?.(m.content) ?? []).length > 0 || def.checkRecipient?.(m.peer)) return Promise.resolve(null);
    return new Promise((resolve, reject) => this.groups.push({ tenantId, provider, m, id: newId('msg'), resolve, reject }));
  }

  private async flush(group: Pending[]): Promise<void> {
    try {
      settle(group, await write(this.ctx, group));
    } catch (err) {
      if (group.length === 1) return group[0]!.reject(quotaError(err, group[0]!.m.channel_id, this.ctx.clock.now()));
      await Promise.all(group.map((p) => write(this.ctx, [p]).then((rows) => settle([p], rows), (e: unknown) => p.reject(quotaError(e, p.m.channel_id, this.ctx.clock.now())))));
    }
  }
}

/** A call acts as one tenant: the oldest request's tenant, with every other request of that tenant queued behind it. */
function oldestTenant(queue: Pending[], maxRows: number): { group: Pending[]; rest: Pending[] } {
  const tenantId = queue[0]!.tenantId;
  const group: Pending[] = [];
  const rest: Pending[] = [];
  for (const p of queue) (p.tenantId === tenantId && group.length < maxRows ? group : rest).push(p);
  return { group, rest };
}

async function write(ctx: AppContext, group: Pending[]): Promise<{ outcome: string; conversation_id: string | null }[]> {
  const p = periods(ctx.clock.now());
  const c = <T>(f: (x: Pending) => T) => group.map(f);
  const { rows } = await sql<{ ord: number; outcome: string; conversation_id: string | null }>`
    select * from sb_accept_messages(${group[0]!.tenantId}, ${c((x) => x.id)}::text[], ${c((x) => x.m.channel_id)}::text[], ${c((x) => x.provider)}::text[],
      ${c((x) => x.m.peer)}::text[], ${c(() => newId('ctc'))}::text[], ${c(() => newId('cnv'))}::text[], ${c((x) => x.m.content.type)}::text[],
      ${c((x) => JSON.stringify(x.m.content))}::jsonb[], ${c((x) => x.m.reply_to ?? null)}::text[], ${c((x) => JSON.stringify(x.m.metadata ?? {}))}::jsonb[],
      ${p.day}, ${p.month})`.execute(ctx.db);
  return rows.sort((a, b) => a.ord - b.ord);
}

function settle(group: Pending[], rows: { outcome: string; conversation_id: string | null }[]): void {
  group.forEach((p, i) => {
    const row = rows[i];
    const key = `${p.tenantId}\n${p.m.channel_id}`;
    switch (row?.outcome) {
      case 'ok':
        return p.resolve({ id: p.id, status: 'queued', conversation_id: row.conversation_id!, to: p.m.peer });
      case 'not_found':
        providers.delete(key);
        return p.reject(notFound(`channel ${p.m.channel_id}`));
      case 'disabled':
        return p.reject(new AppError('channel_disabled', `channel ${p.m.channel_id} is disabled`));
      default:
        providers.delete(key);
        return p.resolve(null);
    }
  });
}

/** SQLSTATE SB429 from the function → the same 429 `quota_exceeded` the full path answers. */
function quotaError(err: unknown, channelId: string, now: Date): unknown {
  const e = err as { code?: string; message?: string; detail?: string };
  if (e?.code !== 'SB429') return err;
  const p = periods(now);
  const limit = Number(e.detail);
  const [what, retry] =
    e.message === 'day' ? ['the daily quota', p.secondsToDayEnd]
    : e.message === 'month' ? ['the monthly quota', p.secondsToMonthEnd]
    : [`the daily limit of channel ${channelId}`, p.secondsToDayEnd];
  return new AppError('quota_exceeded', `${what} of ${limit} messages is used up`, { retryAfterSeconds: retry, details: { limit, window: what } });
}
