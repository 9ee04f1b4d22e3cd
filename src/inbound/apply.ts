import { sql } from 'kysely';
import type { InboundEvent } from '../core/canonical.js';
import { newId } from '../core/ids.js';
import type { Tx } from '../db/db.js';
import { applyDeliveryStatus } from '../messages/status.js';
import { upsertConversation } from '../messages/conversations.js';
import { emitEvent } from '../events/emit.js';

interface Where {
  tenantId: string;
  channelId: string;
}

/**
 * One canonical provider event → rows + a tenant event, exactly once per (channel, dedupeKey).
 * Everything needed comes from the event itself (sender, chat, ids): there is no per-channel state,
 * so concurrent webhooks of one line cannot file a message under another sender.
 */
export async function applyEvent(tx: Tx, w: Where, ev: InboundEvent): Promise<void> {
  const fresh = await sql`insert into inbound_dedupe (tenant_id, channel_id, dedupe_key) values (${w.tenantId}, ${w.channelId}, ${ev.dedupeKey.slice(0, 500)}) on conflict do nothing`.execute(tx);
  if (Number(fresh.numAffectedRows ?? 0) === 0) return;
  switch (ev.kind) {
    case 'message.received':
      return received(tx, w, ev);
    case 'message.status': {
      const error = ev.error ? { code: ev.error.code, detail: ev.error.detail ?? ev.error.title } : undefined;
      // Monotonic (issue 4's rule); a status for a message not yet recorded is parked there, not lost.
      const change = await applyDeliveryStatus(tx, { channelId: w.channelId, providerMessageId: ev.providerMessageId, status: ev.status, error, at: ev.timestamp });
      await emitEvent(tx, {
        tenantId: w.tenantId, type: 'message.status', channelId: w.channelId,
        data: { message_id: change?.messageId ?? null, provider_message_id: ev.providerMessageId, status: ev.status, applied: change?.changed ?? false, error: ev.error ?? null, recipient: ev.recipient ?? null, at: ev.timestamp.toISOString() },
      });
      return;
    }
    case 'message.revoked': {
      const { rows } = await sql<{ id: string }>`update messages set metadata = metadata || '{"revoked":true}'::jsonb, updated_at = now() where channel_id = ${w.channelId} and provider_message_id = ${ev.providerMessageId} returning id`.execute(tx);
      await emitEvent(tx, { tenantId: w.tenantId, type: 'message.revoked', channelId: w.channelId, data: { message_id: rows[0]?.id ?? null, provider_message_id: ev.providerMessageId, at: ev.timestamp.toISOString() } });
      return;
    }
    case 'message.edited': {
      const { rows } = await sql<{ id: string }>`update messages set content = jsonb_set(content, '{text}', to_jsonb(${ev.text}::text)), metadata = metadata || '{"edited":true}'::jsonb, updated_at = now()
        where channel_id = ${w.channelId} and provider_message_id = ${ev.providerMessageId} and content->>'type' = 'text' returning id`.execute(tx);
      await emitEvent(tx, { tenantId: w.tenantId, type: 'message.edited', channelId: w.channelId, data: { message_id: rows[0]?.id ?? null, provider_message_id: ev.providerMessageId, text: ev.text, at: ev.timestamp.toISOString() } });
      return;
    }
    case 'session.status':
      await emitEvent(tx, { tenantId: w.tenantId, type: 'channel.session', channelId: w.channelId, data: { channel_id: w.channelId, status: ev.status, at: ev.timestamp.toISOString() } });
      return;
    case 'provider.error':
      await emitEvent(tx, { tenantId: w.tenantId, type: 'channel.error', channelId: w.channelId, data: { channel_id: w.channelId, error: ev.error, at: ev.timestamp.toISOString() } });
      return;
  }
}

async function received(tx: Tx, w: Where, ev: Extract<InboundEvent, { kind: 'message.received' }>): Promise<void> {
  const group = ev.chat !== ev.from;
  // The profile name belongs to the sender; in a group the contact is the group, so it is not used.
  const { conversationId, contactId } = await upsertConversation(tx, { tenantId: w.tenantId, channelId: w.channelId, address: ev.chat, profileName: group ? undefined : ev.profileName });
  const direction = ev.fromMe ? 'out' : 'in';
  const id = newId('msg');
  const inserted = await sql<{ id: string }>`
    insert into messages (tenant_id, id, channel_id, conversation_id, direction, status, type, content, peer, sender, provider_message_id, reply_to, metadata)
    values (${w.tenantId}, ${id}, ${w.channelId}, ${conversationId}, ${direction}, ${ev.fromMe ? 'sent' : 'received'}, ${ev.content.type},
            ${JSON.stringify(ev.content)}::jsonb, ${ev.chat}, ${group ? ev.from : null}, ${ev.providerMessageId}, ${ev.replyTo ?? null},
            ${JSON.stringify({ provider_timestamp: ev.timestamp.toISOString(), ...(group && ev.profileName ? { sender_name: ev.profileName } : {}) })}::jsonb)
    on conflict (tenant_id, channel_id, provider_message_id) where provider_message_id is not null do nothing
    returning id`.execute(tx);
  if (inserted.rows.length === 0) return; // the message exists already (an echo of our own send, or a replay)
  await sql`update conversations set last_message_at = greatest(coalesce(last_message_at, ${ev.timestamp}), ${ev.timestamp}),
      unread_count = unread_count + ${direction === 'in' ? 1 : 0}, status = case when ${direction} = 'in' then 'open' else status end, updated_at = now()
    where id = ${conversationId}`.execute(tx);
  await emitEvent(tx, {
    tenantId: w.tenantId, type: 'message.received', channelId: w.channelId,
    data: { message_id: id, conversation_id: conversationId, contact_id: contactId, channel_id: w.channelId, direction, from: ev.from, chat: ev.chat, profile_name: ev.profileName ?? null, provider_message_id: ev.providerMessageId, reply_to: ev.replyTo ?? null, content: ev.content, timestamp: ev.timestamp.toISOString() },
  });
}
