import { sql } from 'kysely';
import type { InboundEvent } from '../core/canonical.js';
import type { Tx } from '../db/db.js';
import { applyDeliveryStatus } from '../messages/status.js';
import { applyReceivedBatch } from './apply-batch.js';
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
  if (ev.kind === 'message.received') return applyReceivedBatch(tx, w.tenantId, [{ channelId: w.channelId, ev }]);
  const fresh = await sql`insert into inbound_dedupe (tenant_id, channel_id, dedupe_key) values (${w.tenantId}, ${w.channelId}, ${ev.dedupeKey.slice(0, 500)}) on conflict do nothing`.execute(tx);
  if (Number(fresh.numAffectedRows ?? 0) === 0) return;
  switch (ev.kind) {
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
      if (rows.length === 0) await park(tx, w, ev.providerMessageId, 'revoked', null, ev.timestamp);
      await emitEvent(tx, { tenantId: w.tenantId, type: 'message.revoked', channelId: w.channelId, data: { message_id: rows[0]?.id ?? null, provider_message_id: ev.providerMessageId, at: ev.timestamp.toISOString() } });
      return;
    }
    case 'message.edited': {
      const { rows } = await sql<{ id: string }>`update messages set content = jsonb_set(content, '{text}', to_jsonb(${ev.text}::text)), metadata = metadata || '{"edited":true}'::jsonb, updated_at = now()
        where channel_id = ${w.channelId} and provider_message_id = ${ev.providerMessageId} and content->>'type' = 'text' returning id`.execute(tx);
      if (rows.length === 0) await park(tx, w, ev.providerMessageId, 'edited', ev.text, ev.timestamp);
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

/**
 * A revoke or edit of a message not stored yet (it can be processed first: webhooks reorder) is
 * parked; the statement that inserts the message applies it (migration 047). An edit of a stored
 * message that is not text is not parked (it matched nothing for that reason). Of two edits parked,
 * the later one wins.
 */
async function park(tx: Tx, w: Where, providerMessageId: string, kind: 'revoked' | 'edited', text: string | null, at: Date): Promise<void> {
  await sql`insert into early_message_changes (tenant_id, channel_id, provider_message_id, kind, text, at)
    select ${w.tenantId}, ${w.channelId}, ${providerMessageId}, ${kind}, ${text}, ${at}::timestamptz
    where not exists (select 1 from messages where channel_id = ${w.channelId} and provider_message_id = ${providerMessageId})
    on conflict (tenant_id, channel_id, provider_message_id, kind) do update set text = excluded.text, at = excluded.at
    where early_message_changes.at <= excluded.at`.execute(tx);
}
