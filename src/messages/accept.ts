import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { AppError, notFound } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { withTenant, type TenantId, type Tx } from '../db/db.js';
import { takeQuota } from '../delivery/quota.js';
import { rememberProvider, type AcceptQueue, type Prepared } from './accept-one.js';
import { upsertConversation, upsertConversations } from './conversations.js';
import { claimKey, requestHash, storeResponse } from './idempotency.js';
import { checkMessage, type Problem, type SendInput } from './validate.js';
import '../delivery/schema.js';

export interface AcceptedMessage {
  id: string;
  status: 'queued';
  conversation_id: string;
  to: string;
}

export interface AcceptResult {
  code: number;
  body: unknown;
  replayed: boolean;
}

function prepare(messages: SendInput[], pathOf: (i: number) => string): Prepared[] {
  const problems: Problem[] = [];
  const out = messages.map((m, i) => {
    const r = checkMessage(m, pathOf(i));
    problems.push(...r.problems);
    return { ...m, peer: r.to ?? '' };
  });
  if (problems.length > 0) {
    throw new AppError('validation_failed', problems.length === 1 ? `${problems[0]!.path}: ${problems[0]!.message}` : `${problems.length} problems in the request`, {
      details: { errors: problems.slice(0, 100) },
    });
  }
  return out;
}

async function loadChannels(ctx: AppContext, tx: Tx, tenantId: TenantId, items: Prepared[], pathOf: (i: number) => string) {
  const ids = [...new Set(items.map((m) => m.channel_id))];
  const rows = await tx.selectFrom('channels').select(['id', 'provider', 'status', 'daily_limit']).where('id', 'in', ids).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const r of rows) rememberProvider(tenantId, r.id, r.provider);
  const problems: Problem[] = [];
  const unaddressable: Problem[] = [];
  items.forEach((m, i) => {
    const ch = byId.get(m.channel_id);
    if (!ch) throw notFound(`channel ${m.channel_id}`);
    if (ch.status !== 'active') throw new AppError('channel_disabled', `channel ${m.channel_id} is disabled`);
    const def = ctx.providers.definition(ch.provider);
    const recipient = def.checkRecipient?.(m.peer);
    if (recipient) unaddressable.push({ path: `${pathOf(i)}/to`, message: `${def.displayName}: ${recipient}` });
    if (!def.capabilities.content.includes(m.content.type)) {
      problems.push({ path: `${pathOf(i)}/content/type`, message: `${def.displayName} cannot send ${m.content.type} messages` });
    } else {
      for (const message of def.checkContent?.(m.content) ?? []) problems.push({ path: `${pathOf(i)}/content`, message: `${def.displayName}: ${message}` });
    }
  });
  if (unaddressable.length > 0) throw new AppError('unsupported_recipient', unaddressable[0]!.message, { details: { errors: unaddressable.slice(0, 100) } });
  if (problems.length > 0) throw new AppError('unsupported_content', problems[0]!.message, { details: { errors: problems.slice(0, 100) } });
  return byId;
}

/**
 * The accept path: validates, then in ONE transaction takes the idempotency key and the quota,
 * upserts conversations, writes every message with its delivery job and marks the channels ready.
 * The 202 is only answered after that commit, so an accepted message cannot be lost (DESIGN §2).
 * A batch is all-or-nothing: one bad message rejects the request with every problem listed.
 */
export async function acceptMessages(
  ctx: AppContext,
  tenantId: TenantId,
  p: { messages: SendInput[]; batch: boolean; idempotencyKey: string | undefined; route: string; rawBody: unknown; queue?: AcceptQueue },
): Promise<AcceptResult> {
  const pathOf = (i: number) => (p.batch ? `/messages/${i}` : '');
  const items = prepare(p.messages, pathOf);
  // One message without an Idempotency-Key (the common send): group-committed with the other
  // requests of this tenant in flight (decision 018) instead of its own ~10-statement transaction.
  if (!p.batch && !p.idempotencyKey && p.queue) {
    const one = await p.queue.accept(tenantId, items[0]!);
    if (one) return { code: 202, body: one, replayed: false };
  }
  return withTenant(ctx.db, tenantId, async (tx) => {
    if (p.idempotencyKey) {
      const prior = await claimKey(tx, tenantId, p.idempotencyKey, requestHash(p.route, p.rawBody));
      if (prior) return { ...prior, replayed: true };
    }
    const channels = await loadChannels(ctx, tx, tenantId, items, pathOf);
    const now = ctx.clock.now();
    const perChannel = new Map<string, { count: number; dailyLimit: number | null }>();
    for (const m of items) {
      const c = perChannel.get(m.channel_id) ?? { count: 0, dailyLimit: channels.get(m.channel_id)!.daily_limit };
      c.count += 1;
      perChannel.set(m.channel_id, c);
    }
    await takeQuota(tx, tenantId, now, perChannel);

    const convs =
      items.length === 1
        ? new Map([[`${items[0]!.channel_id}\n${items[0]!.peer}`, (await upsertConversation(tx, { tenantId, channelId: items[0]!.channel_id, address: items[0]!.peer })).conversationId]])
        : (await upsertConversations(tx, tenantId, items.map((m) => ({ channelId: m.channel_id, address: m.peer })))).ids;
    const accepted: AcceptedMessage[] = items.map((m) => ({ id: newId('msg'), status: 'queued', conversation_id: convs.get(`${m.channel_id}\n${m.peer}`)!, to: m.peer }));
    // One statement for every write (messages, jobs in message order, channel buckets, conversation
    // touch): each round trip saved is ~10 % of a single accept. Foreign keys between the CTEs are
    // checked at the end of the statement, when all rows exist.
    const col = <T>(f: (m: Prepared, i: number) => T) => items.map(f);
    await sql`
      with x as (
        select * from unnest(${col((_, i) => accepted[i]!.id)}::text[], ${col((m) => m.channel_id)}::text[], ${col((_, i) => accepted[i]!.conversation_id)}::text[],
                             ${col((m) => m.content.type)}::text[], ${col((m) => JSON.stringify(m.content))}::jsonb[], ${col((m) => m.peer)}::text[],
                             ${col((m) => m.reply_to ?? null)}::text[], ${col((m) => JSON.stringify(m.metadata ?? {}))}::jsonb[])
          with ordinality as x(id, channel_id, conversation_id, type, content, peer, reply_to, metadata, ord)
      ),
      m as (
        insert into messages (tenant_id, id, channel_id, conversation_id, direction, status, type, content, peer, reply_to, metadata)
        select ${tenantId}, id, channel_id, conversation_id, 'out', 'queued', type, content, peer, reply_to, metadata from x order by ord
      ),
      j as (insert into delivery_jobs (tenant_id, message_id, channel_id, peer) select ${tenantId}, id, channel_id, peer from x order by ord),
      b as (insert into delivery_buckets (tenant_id, channel_id) select distinct ${tenantId}, channel_id from x on conflict do nothing),
      c as (update conversations set last_message_at = now(), updated_at = now()
            where tenant_id = ${tenantId} and id in (select distinct conversation_id from x))
      select 1`.execute(tx);
    const body = p.batch ? { data: accepted } : accepted[0]!;
    if (p.idempotencyKey) await storeResponse(tx, p.idempotencyKey, 202, body);
    return { code: 202, body, replayed: false };
  });
}
