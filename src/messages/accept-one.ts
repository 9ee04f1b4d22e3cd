import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { AppError, notFound } from '../core/errors.js';
import { newId } from '../core/ids.js';
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

/**
 * The single-message accept in ONE database round trip (`sb_accept_message`, migration 012): the
 * statement is its own transaction, so the 202 still follows the commit. Returns null when the fast
 * path does not apply — provider unknown here, content the provider refuses (the full path then
 * answers with the exact same problem list) or a stale provider hint — and the caller runs the
 * full path. Same answers as the full path otherwise: 404, channel_disabled, 429 quota_exceeded.
 */
export async function acceptOne(ctx: AppContext, tenantId: TenantId, m: SendInput & { peer: string }): Promise<{ id: string; status: 'queued'; conversation_id: string; to: string } | null> {
  const key = `${tenantId}\n${m.channel_id}`;
  const provider = providers.get(key);
  if (provider === undefined) return null;
  const def = ctx.providers.definition(provider);
  if (!def.capabilities.content.includes(m.content.type) || (def.checkContent?.(m.content) ?? []).length > 0) return null;
  const now = ctx.clock.now();
  const p = periods(now);
  const id = newId('msg');
  let row: { outcome: string; conversation_id: string | null } | undefined;
  try {
    const r = await sql<{ outcome: string; conversation_id: string | null }>`
      select * from sb_accept_message(${tenantId}, ${m.channel_id}, ${provider}, ${m.peer}, ${id}, ${newId('ctc')}, ${newId('cnv')},
        ${m.content.type}, ${JSON.stringify(m.content)}::jsonb, ${m.reply_to ?? null}, ${JSON.stringify(m.metadata ?? {})}::jsonb,
        ${p.day}, ${p.month})`.execute(ctx.db);
    row = r.rows[0];
  } catch (err) {
    const e = err as { code?: string; message?: string; detail?: string };
    if (e.code !== 'SB429') throw err;
    const limit = Number(e.detail);
    const [what, retry] =
      e.message === 'day' ? ['the daily quota', p.secondsToDayEnd]
      : e.message === 'month' ? ['the monthly quota', p.secondsToMonthEnd]
      : [`the daily limit of channel ${m.channel_id}`, p.secondsToDayEnd];
    throw new AppError('quota_exceeded', `${what} of ${limit} messages is used up`, { retryAfterSeconds: retry, details: { limit, window: what } });
  }
  switch (row?.outcome) {
    case 'ok':
      return { id, status: 'queued', conversation_id: row.conversation_id!, to: m.peer };
    case 'not_found':
      providers.delete(key);
      throw notFound(`channel ${m.channel_id}`);
    case 'disabled':
      throw new AppError('channel_disabled', `channel ${m.channel_id} is disabled`);
    default:
      providers.delete(key);
      return null;
  }
}
