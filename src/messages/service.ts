import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { AppError, notFound } from '../core/errors.js';
import { withTenant, type TenantId } from '../db/db.js';
import type { Selectable } from 'kysely';
import type { MessagesTable, MessageStatus } from '../db/schema.js';
import { updateOutboundStatus } from './status.js';
import { emitEvent } from '../events/emit.js';
import '../delivery/schema.js';

/** A `messages` row as selected (tenant_id is implied by the transaction). */
type MessageRow = Omit<Selectable<MessagesTable>, 'tenant_id'>;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function messageView(m: MessageRow) {
  return {
    id: m.id,
    channel_id: m.channel_id,
    conversation_id: m.conversation_id,
    direction: m.direction,
    status: m.status,
    type: m.type,
    content: m.content,
    peer: m.peer,
    sender: m.sender,
    provider_message_id: m.provider_message_id,
    reply_to: m.reply_to,
    error: m.error_code ? { code: m.error_code, detail: m.error_detail } : null,
    attempts: m.attempts,
    metadata: (m.metadata ?? {}) as Record<string, unknown>,
    created_at: m.created_at.toISOString(),
    updated_at: m.updated_at.toISOString(),
    sent_at: iso(m.sent_at),
    delivered_at: iso(m.delivered_at),
    read_at: iso(m.read_at),
    failed_at: iso(m.failed_at),
  };
}

export const getMessage = (ctx: AppContext, tenantId: TenantId, id: string) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    const row = await tx.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('message');
    return messageView(row as MessageRow);
  });

export interface ListFilter {
  channel_id?: string | undefined;
  conversation_id?: string | undefined;
  status?: MessageStatus | undefined;
  direction?: 'in' | 'out' | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

/** Newest first; `before` is the cursor (an id, ids sort by creation time). */
export const listMessages = (ctx: AppContext, tenantId: TenantId, f: ListFilter, limit: number, before?: string) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    let q = tx.selectFrom('messages').selectAll().orderBy('id', 'desc').limit(limit + 1);
    if (before) q = q.where('id', '<', before);
    if (f.channel_id) q = q.where('channel_id', '=', f.channel_id);
    if (f.conversation_id) q = q.where('conversation_id', '=', f.conversation_id);
    // Statuses other than 'received' are outbound ones; saying so lets the partial status index serve.
    if (f.status) q = q.where('status', '=', f.status);
    if (f.status && f.status !== 'received') q = q.where('direction', '=', 'out');
    if (f.direction) q = q.where('direction', '=', f.direction);
    if (f.since) q = q.where('created_at', '>=', new Date(f.since));
    if (f.until) q = q.where('created_at', '<', new Date(f.until));
    return (await q.execute()) as MessageRow[];
  });

/**
 * Cancels a message that is still queued: its job is deleted unless a worker holds it (then the
 * send may already be on the wire, so we refuse rather than promise what we cannot keep).
 */
export const cancelMessage = (ctx: AppContext, tenantId: TenantId, id: string) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    const msg = await tx.selectFrom('messages').select(['id', 'status', 'direction']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!msg) throw notFound('message');
    const job = await sql<{ message_id: string }>`
      delete from delivery_jobs where message_id = ${id} and (lease_until is null or lease_until < now())
      returning message_id`.execute(tx);
    if (msg.direction !== 'out' || msg.status !== 'queued' || job.rows.length === 0) {
      throw new AppError('message_not_cancellable', `message ${id} is ${msg.status === 'queued' ? 'being sent' : msg.status}`);
    }
    const at = ctx.clock.now();
    await updateOutboundStatus(tx, { messageId: id }, { status: 'cancelled', at });
    const row = await tx.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    // Like every other status change, a tenant event (webhooks, SSE), committed with the change.
    await emitEvent(tx, {
      tenantId, type: 'message.status', channelId: row.channel_id,
      data: { message_id: id, provider_message_id: row.provider_message_id, status: 'cancelled', applied: true, error: null, at: at.toISOString() },
    });
    return messageView(row as MessageRow);
  });
