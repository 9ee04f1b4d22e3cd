import { sql } from 'kysely';
import type { DeliveryStatus } from '../core/canonical.js';
import { newId } from '../core/ids.js';
import type { Tx } from '../db/db.js';

/**
 * Minimal stand-ins for `upsertConversation` (src/messages/conversations.ts) and
 * `applyDeliveryStatus` (src/messages/status.ts), which issue 4 owns and had not landed when the
 * inbound pipeline was written. Same signatures, so switching is an import change. Both are single
 * statements keyed by unique constraints: safe under any concurrency, no per-channel state.
 */
export async function upsertConversation(
  tx: Tx,
  p: { tenantId: string; channelId: string; address: string; profileName?: string | undefined },
): Promise<{ conversationId: string; contactId: string }> {
  const isGroup = p.address.endsWith('@g.us');
  const contact = await sql<{ id: string }>`
    insert into contacts (tenant_id, id, channel_id, address, profile_name, is_group)
    values (${p.tenantId}, ${newId('ctc')}, ${p.channelId}, ${p.address}, ${p.profileName ?? null}, ${isGroup})
    on conflict (tenant_id, channel_id, address) do update
      set profile_name = coalesce(excluded.profile_name, contacts.profile_name),
          updated_at = case when excluded.profile_name is distinct from contacts.profile_name and excluded.profile_name is not null then now() else contacts.updated_at end
    returning id`.execute(tx);
  const contactId = contact.rows[0]!.id;
  const conv = await sql<{ id: string }>`
    insert into conversations (tenant_id, id, channel_id, contact_id)
    values (${p.tenantId}, ${newId('cnv')}, ${p.channelId}, ${contactId})
    on conflict (tenant_id, channel_id, contact_id) do update set updated_at = conversations.updated_at
    returning id`.execute(tx);
  return { conversationId: conv.rows[0]!.id, contactId };
}

export interface StatusUpdate {
  channelId: string;
  providerMessageId: string;
  status: DeliveryStatus;
  error?: { code: string; title: string; detail?: string } | undefined;
  at: Date;
}

/** Moves an outbound message's status forward only (sb_status_rank); returns the message id if it moved. */
export async function applyDeliveryStatus(tx: Tx, u: StatusUpdate): Promise<{ id: string; conversationId: string } | null> {
  const { rows } = await sql<{ id: string; conversation_id: string }>`
    update messages set status = ${u.status}, updated_at = now(),
      sent_at = case when ${u.status} = 'sent' then coalesce(sent_at, ${u.at}) else sent_at end,
      delivered_at = case when ${u.status} in ('delivered', 'read', 'played') then coalesce(delivered_at, ${u.at}) else delivered_at end,
      read_at = case when ${u.status} in ('read', 'played') then coalesce(read_at, ${u.at}) else read_at end,
      failed_at = case when ${u.status} = 'failed' then ${u.at} else failed_at end,
      error_code = case when ${u.status} = 'failed' then ${u.error?.code ?? null} else error_code end,
      error_detail = case when ${u.status} = 'failed' then ${u.error ? `${u.error.title}${u.error.detail ? `: ${u.error.detail}` : ''}` : null} else error_detail end
    where channel_id = ${u.channelId} and provider_message_id = ${u.providerMessageId} and direction = 'out'
      and sb_status_rank(${u.status}) > sb_status_rank(status)
    returning id, conversation_id`.execute(tx);
  const r = rows[0];
  return r ? { id: r.id, conversationId: r.conversation_id } : null;
}
