import { sql } from 'kysely';
import type { InboundEvent } from '../core/canonical.js';
import { newId } from '../core/ids.js';
import type { Tx } from '../db/db.js';
import { upsertConversations } from '../messages/conversations.js';
import { emitEvents } from '../events/emit.js';
import { applyParkedStatuses } from '../messages/status.js';

export type Received = Extract<InboundEvent, { kind: 'message.received' }>;

/**
 * How far ahead of our clock a message's own time may be. WhatsApp-Web times come from the sender's
 * phone: one set a year ahead pinned its conversation to the top of `sort=recent` and counted it
 * active for a year (`last_message_at` only moves forward). Review of 2026-12-01.
 */
const MAX_AHEAD_MS = 5 * 60_000;

/**
 * What both inbound writers — this set-based path and the one-call fast path (ingest-received.ts,
 * sb_ingest_received) — derive from a received message: its columns, the name its contact carries
 * (1:1 senders only; in a group the contact is the group) and its event payload (to which the
 * writer adds conversation_id and contact_id once it knows them).
 */
export function receivedFields(ev: Received) {
  // Told by the chat's address, not by `from` differing from it: the line's own messages (echoes)
  // differ without being group messages, and a group message may lack its author.
  const group = ev.chat.endsWith('@g.us');
  const now = Date.now();
  /** The time the conversation is ordered by: a time too far ahead is not believed (our clock instead); the provider's own stays in metadata. */
  const at = ev.timestamp.getTime() > now + MAX_AHEAD_MS ? new Date(now) : ev.timestamp;
  const direction = ev.fromMe ? 'out' : 'in';
  const timestamp = ev.timestamp.toISOString();
  return {
    at,
    direction,
    status: ev.fromMe ? 'sent' : 'received',
    sender: group && ev.from !== ev.chat ? ev.from : null,
    // The name an echo carries is the line's own, not the contact's.
    contactName: !group && !ev.fromMe && ev.profileName ? ev.profileName : null,
    metadata: { provider_timestamp: timestamp, ...(group && ev.profileName ? { sender_name: ev.profileName } : {}) },
    data: (messageId: string, channelId: string) => ({
      message_id: messageId, channel_id: channelId, direction, from: ev.from, chat: ev.chat, profile_name: ev.profileName ?? null,
      provider_message_id: ev.providerMessageId, reply_to: ev.replyTo ?? null, content: ev.content, timestamp,
    }),
  };
}

/**
 * A filter keeping the first occurrence of each (channel, dedupe key) in a batch. No inbound_dedupe
 * row for new messages: (channel, provider message id) is unique in messages, which decides on its
 * own whether a redelivery is stored (a dedupe key repeats only where the provider id does;
 * decision 026).
 */
export function firstOccurrence(): (channelId: string, ev: Received) => boolean {
  const seen = new Set<string>();
  return (channelId, ev) => {
    const k = `${channelId}\n${ev.dedupeKey.slice(0, 500)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  };
}

/**
 * The `message.received` events of a whole inbox batch, set-based: contacts and conversations
 * (issue 4's `upsertConversations`), profile names, messages, conversation counters and events in
 * about seven statements for the batch instead of ~12 per message. Same rules as
 * `sb_ingest_received` (the inline processor's one-call form of this, migration 024).
 */
export async function applyReceivedBatch(tx: Tx, tenantId: string, items: { channelId: string; ev: Received }[]): Promise<void> {
  if (items.length === 0) return;
  const first = firstOccurrence();
  // Each message's fields once (they read the clock and build its event payload).
  const todo = items.filter((i) => first(i.channelId, i.ev)).map((i) => ({ ...i, f: receivedFields(i.ev) }));
  // A new contact starts with its profile name (1:1 senders; in a group the contact is the group)
  // and a new conversation with this batch's last message time and unread count.
  const names = new Map<string, { c: string; a: string; n: string }>();
  for (const i of todo) {
    const n = i.f.contactName;
    if (n) names.set(`${i.channelId}\n${i.ev.chat}`, { c: i.channelId, a: i.ev.chat, n });
  }
  const agg = new Map<string, { at: Date; unread: number }>();
  for (const i of todo) {
    const k = `${i.channelId}\n${i.ev.chat}`;
    const at = i.f.at;
    const a = agg.get(k) ?? { at, unread: 0 };
    if (at > a.at) a.at = at;
    if (!i.ev.fromMe) a.unread += 1;
    agg.set(k, a);
  }
  const { ids: convs, created, contactOf } = await upsertConversations(tx, tenantId, todo.map((i) => {
    const k = `${i.channelId}\n${i.ev.chat}`;
    return { channelId: i.channelId, address: i.ev.chat, profileName: names.get(k)?.n ?? null, lastMessageAt: agg.get(k)!.at, unread: agg.get(k)!.unread };
  }));
  // Profile names of contacts that existed: the last one wins (a no-op for the ones just created).
  if (names.size > 0) {
    const n = [...names.values()];
    await sql`update contacts k set profile_name = x.n, updated_at = now()
      from unnest(${n.map((v) => v.c)}::text[], ${n.map((v) => v.a)}::text[], ${n.map((v) => v.n)}::text[]) as x(c, a, n)
      where k.tenant_id = ${tenantId} and k.channel_id = x.c and k.address = x.a and k.profile_name is distinct from x.n`.execute(tx);
  }
  const rows = todo.map(({ channelId, ev, f }) => ({ id: newId('msg'), channelId, conversationId: convs.get(`${channelId}\n${ev.chat}`)!, ev, ...f, metadata: JSON.stringify(f.metadata) }));
  const col = <T>(f: (r: (typeof rows)[number]) => T) => rows.map(f);
  const inserted = await sql<{ id: string }>`
    insert into messages (tenant_id, id, channel_id, conversation_id, direction, status, type, content, peer, sender, provider_message_id, reply_to, metadata)
    select ${tenantId}, id, ch, cv, dir, st, ty, co, pe, se, pm, rt, md
    from unnest(${col((r) => r.id)}::text[], ${col((r) => r.channelId)}::text[], ${col((r) => r.conversationId)}::text[], ${col((r) => r.direction)}::text[],
                ${col((r) => r.status)}::text[], ${col((r) => r.ev.content.type)}::text[], ${col((r) => JSON.stringify(r.ev.content))}::jsonb[], ${col((r) => r.ev.chat)}::text[],
                ${col((r) => r.sender)}::text[], ${col((r) => r.ev.providerMessageId)}::text[], ${col((r) => r.ev.replyTo ?? null)}::text[], ${col((r) => r.metadata)}::jsonb[])
         as x(id, ch, cv, dir, st, ty, co, pe, se, pm, rt, md)
    on conflict (tenant_id, channel_id, provider_message_id) where provider_message_id is not null do nothing
    returning id`.execute(tx);
  const ok = new Set(inserted.rows.map((r) => r.id));
  const stored = rows.filter((r) => ok.has(r.id)); // the rest exist already (echoes of our own sends)
  if (stored.length === 0) return;
  // Conversations that existed get this batch's time, unread count and reopening; new ones were
  // created with them.
  const existing = stored.filter((r) => !created.has(r.conversationId));
  const sc = <T>(f: (r: (typeof existing)[number]) => T) => existing.map(f);
  if (existing.length > 0) await sql`
    with x as (select * from unnest(${sc((r) => r.conversationId)}::text[], ${sc((r) => r.at.toISOString())}::timestamptz[], ${sc((r) => (r.direction === 'in' ? 1 : 0))}::int[]) as x(cv, at, n_in)),
    g as (select cv, max(at) as at, sum(n_in)::int as n_in from x group by cv)
    update conversations v set last_message_at = greatest(coalesce(v.last_message_at, g.at), g.at), unread_count = v.unread_count + g.n_in,
      status = case when g.n_in > 0 then 'open' else v.status end, updated_at = now()
    from g where v.tenant_id = ${tenantId} and v.id = g.cv`.execute(tx);
  await emitEvents(tx, tenantId, stored.map((r) => ({
    type: 'message.received' as const, channelId: r.channelId,
    data: { ...r.data(r.id, r.channelId), conversation_id: r.conversationId, contact_id: contactOf.get(r.conversationId) ?? null },
  })));
  // A message sent from the phone whose receipts were processed before it (webhooks reorder): they
  // were parked, and apply now, after its `message.received`.
  await applyParkedStatuses(tx, tenantId, stored.filter((r) => r.direction === 'out').map((r) => ({ channelId: r.channelId, providerMessageId: r.ev.providerMessageId })));
}
