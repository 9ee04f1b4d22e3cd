import { sql } from 'kysely';
import type { Tx } from '../db/db.js';
import type { MessageStatus } from '../db/schema.js';
import '../delivery/schema.js';
import { isOwnMessageId } from '../core/ids.js';
import { emitEvent } from '../events/emit.js';

/** Statuses a provider reports about an outbound message (webhooks) or the scheduler decides. */
export type OutboundStatus = 'sending' | 'sent' | 'delivered' | 'read' | 'played' | 'failed' | 'cancelled';

export interface StatusError {
  code: string;
  detail?: string | undefined;
}


export interface StatusChange {
  messageId: string;
  /** The status after the update (unchanged when the update was older than what is stored). */
  status: MessageStatus;
  changed: boolean;
}

/**
 * The one monotonic rule for outbound status (`sb_status_rank`, migration 003): a status only moves
 * to a higher rank, so `read` never returns to `delivered` and a late `failed` never undoes
 * `delivered`, whatever order updates arrive in. Timestamps fill in once (first report wins) and
 * a higher status implies the lower ones (`read` also sets `delivered_at` when it is missing).
 * Every real change is appended to `message_status_log` in the same transaction (the events
 * pipeline fans it out).
 */
export async function updateOutboundStatus(
  tx: Tx,
  where: { messageId: string } | { channelId: string; providerMessageId: string },
  p: { status: OutboundStatus; error?: StatusError | undefined; at: Date; providerMessageId?: string },
): Promise<StatusChange | null> {
  const s = p.status;
  const reached = (list: OutboundStatus[]) => list.includes(s);
  const filter =
    'messageId' in where
      ? sql`id = ${where.messageId}`
      : isOwnMessageId(where.providerMessageId)
        ? sql`channel_id = ${where.channelId} and (id = ${where.providerMessageId} or provider_message_id = ${where.providerMessageId})`
        : sql`channel_id = ${where.channelId} and provider_message_id = ${where.providerMessageId}`;
  const res = await sql<{ id: string; status: MessageStatus; changed: boolean }>`
    with cur as (
      select tenant_id, id, sb_status_rank(status) < sb_status_rank(${s}) as up
      from messages where direction = 'out' and ${filter}
      for update
    )
    update messages m set
      status = case when cur.up then ${s} else m.status end,
      provider_message_id = coalesce(m.provider_message_id, ${p.providerMessageId ?? null}),
      sent_at = case when ${reached(['sent', 'delivered', 'read', 'played'])} then coalesce(m.sent_at, ${p.at}) else m.sent_at end,
      delivered_at = case when ${reached(['delivered', 'read', 'played'])} then coalesce(m.delivered_at, ${p.at}) else m.delivered_at end,
      read_at = case when ${reached(['read', 'played'])} then coalesce(m.read_at, ${p.at}) else m.read_at end,
      failed_at = case when cur.up and ${s === 'failed'} then ${p.at} else m.failed_at end,
      error_code = case when cur.up and ${s === 'failed'} then ${p.error?.code ?? null} else m.error_code end,
      error_detail = case when cur.up and ${s === 'failed'} then ${p.error?.detail ?? null} else m.error_detail end,
      updated_at = now()
    from cur where m.tenant_id = cur.tenant_id and m.id = cur.id
    returning m.id, m.status, cur.up as changed`.execute(tx);
  const row = res.rows[0];
  if (!row) return null;
  if (row.changed) {
    await sql`insert into message_status_log (tenant_id, message_id, status, error_code)
      values (app_tenant(), ${row.id}, ${s}, ${s === 'failed' ? (p.error?.code ?? null) : null})`.execute(tx);
  }
  return { messageId: row.id, status: row.status, changed: row.changed };
}

/**
 * Applies a provider status report (webhook) to our outbound message, inside the caller's
 * `withTenant` transaction. Monotonic (see `updateOutboundStatus`). The message is the one of that
 * channel carrying the provider id, or — when the provider names it by our own `msg_…` id — that
 * message itself (same channel, outbound), whether or not its send result is saved yet. When no
 * message carries that provider id yet — the webhook beat the worker's commit of the send result —
 * the status is parked in `early_statuses` and applied by the worker as soon as it records the id;
 * the return value is then `null`. An own id that matches nothing is not parked: our messages exist
 * before they are sent, so it never will. Redelivered webhooks are harmless (a repeat is not a
 * change).
 */
export async function applyDeliveryStatus(
  tx: Tx,
  p: { channelId: string; providerMessageId: string; status: 'sent' | 'delivered' | 'read' | 'played' | 'failed'; error?: StatusError | undefined; at: Date },
): Promise<StatusChange | null> {
  // Matched by the id, never set from it: an own `msg_…` id is not the provider's id for the message.
  const change = await updateOutboundStatus(tx, { channelId: p.channelId, providerMessageId: p.providerMessageId }, { status: p.status, error: p.error, at: p.at });
  if (change || isOwnMessageId(p.providerMessageId)) return change;
  await sql`insert into early_statuses (tenant_id, channel_id, provider_message_id, status, error_code, error_detail, at)
    values (app_tenant(), ${p.channelId}, ${p.providerMessageId}, ${p.status}, ${p.error?.code ?? null}, ${p.error?.detail ?? null}, ${p.at})
    on conflict do nothing`.execute(tx);
  return null;
}

/**
 * Called as soon as outbound messages carry these provider ids — the worker recording its send
 * results, the inbound writer storing echoes of messages sent from the phone: applies the statuses
 * parked for exactly these (line, provider id) pairs (another line's send may carry the same provider
 * id: UltraMsg queue ids count per instance), in the order they arrived, and emits `message.status`
 * for each change (the webhook that brought it could not name the message).
 */
export async function applyParkedStatuses(tx: Tx, tenantId: string, sent: { channelId: string; providerMessageId: string }[]): Promise<void> {
  if (sent.length === 0) return;
  const early = await sql<{ channel_id: string; provider_message_id: string }>`
    select distinct e.channel_id, e.provider_message_id from early_statuses e
    join unnest(${sent.map((r) => r.channelId)}::text[], ${sent.map((r) => r.providerMessageId)}::text[]) as r(ch, pid)
      on e.channel_id = r.ch and e.provider_message_id = r.pid
    where e.tenant_id = ${tenantId}`.execute(tx);
  for (const e of early.rows) {
    for (const a of await applyEarlyStatuses(tx, { channelId: e.channel_id, providerMessageId: e.provider_message_id })) {
      if (!a.change.changed) continue;
      await emitEvent(tx, {
        tenantId, type: 'message.status', channelId: e.channel_id,
        data: { message_id: a.change.messageId, provider_message_id: e.provider_message_id, status: a.status, applied: true, error: a.status === 'failed' ? (a.error ?? null) : null, at: a.at.toISOString() },
      });
    }
  }
}

/** The statuses parked for one (line, provider id), applied in the order they arrived. */
async function applyEarlyStatuses(tx: Tx, p: { channelId: string; providerMessageId: string }): Promise<{ status: OutboundStatus; at: Date; error: StatusError | undefined; change: StatusChange }[]> {
  const early = await tx
    .deleteFrom('early_statuses')
    .where('channel_id', '=', p.channelId)
    .where('provider_message_id', '=', p.providerMessageId)
    .returning(['status', 'error_code', 'error_detail', 'at'])
    .execute();
  const applied = [];
  for (const e of early.sort((a, b) => a.at.getTime() - b.at.getTime())) {
    const status = e.status as OutboundStatus;
    const error = e.error_code ? { code: e.error_code, detail: e.error_detail ?? undefined } : undefined;
    const change = await updateOutboundStatus(tx, p, { status, at: e.at, error });
    if (change) applied.push({ status, at: e.at, error, change });
  }
  return applied;
}
