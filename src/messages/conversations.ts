import { sql } from 'kysely';
import { newId } from '../core/ids.js';
import type { Tx } from '../db/db.js';

export interface ConversationRef {
  contactId: string;
  conversationId: string;
}

/**
 * Finds or creates the contact and the conversation of (channel, address) — shared by outbound
 * accept and the inbound normaliser so both name a conversation the same way.
 *
 * - Runs inside the caller's `withTenant` transaction (RLS supplies the tenant check; `tenantId`
 *   must be that same tenant).
 * - `address` must already be canonical (`normalizeAddress`): the unique key is
 *   (tenant, channel, address), so `+1650…` and `1650…@c.us` must not both reach here.
 * - Concurrency-safe: two transactions creating the same contact race on the unique index;
 *   `on conflict do nothing` makes the loser wait for the winner, then re-read its row: never a
 *   duplicate and never a unique-violation error (READ COMMITTED, the default, is assumed).
 * - `profileName`, when given, replaces the stored one (providers send the current push name);
 *   when omitted the stored one is kept.
 * - Never touches `last_message_at` / `unread_count`: whoever stores the message updates those.
 */
export async function upsertConversation(
  tx: Tx,
  p: { tenantId: string; channelId: string; address: string; profileName?: string | undefined },
): Promise<ConversationRef> {
  // Common case first: both exist, one indexed read and no write (an upsert would rewrite the rows
  // on every message and serialise senders to one conversation on its row lock).
  const found = await sql<{ contact_id: string; conversation_id: string | null; profile_name: string | null }>`
    select c.id as contact_id, v.id as conversation_id, c.profile_name
    from contacts c left join conversations v on v.tenant_id = c.tenant_id and v.channel_id = c.channel_id and v.contact_id = c.id
    where c.tenant_id = ${p.tenantId} and c.channel_id = ${p.channelId} and c.address = ${p.address}`.execute(tx);
  let row = found.rows[0];
  if (!row) {
    // DO NOTHING waits for a concurrent inserter to finish, then the re-read sees its row.
    await sql`insert into contacts (tenant_id, id, channel_id, address, profile_name, is_group)
      values (${p.tenantId}, ${newId('ctc')}, ${p.channelId}, ${p.address}, ${p.profileName ?? null}, ${p.address.endsWith('@g.us')})
      on conflict (tenant_id, channel_id, address) do nothing`.execute(tx);
    const again = await sql<{ id: string; profile_name: string | null }>`
      select id, profile_name from contacts where tenant_id = ${p.tenantId} and channel_id = ${p.channelId} and address = ${p.address}`.execute(tx);
    const c = again.rows[0]!;
    row = { contact_id: c.id, conversation_id: null, profile_name: c.profile_name };
  }
  if (p.profileName !== undefined && p.profileName !== row.profile_name) {
    await sql`update contacts set profile_name = ${p.profileName}, updated_at = now()
      where tenant_id = ${p.tenantId} and id = ${row.contact_id}`.execute(tx);
  }
  let conversationId = row.conversation_id;
  if (!conversationId) {
    await sql`insert into conversations (tenant_id, id, channel_id, contact_id)
      values (${p.tenantId}, ${newId('cnv')}, ${p.channelId}, ${row.contact_id})
      on conflict (tenant_id, channel_id, contact_id) do nothing`.execute(tx);
    const v = await sql<{ id: string }>`select id from conversations
      where tenant_id = ${p.tenantId} and channel_id = ${p.channelId} and contact_id = ${row.contact_id}`.execute(tx);
    conversationId = v.rows[0]!.id;
  }
  return { contactId: row.contact_id, conversationId };
}

/** A (channel, address) pair to upsert, with what a new contact / conversation starts with. */
export interface ConversationPair {
  channelId: string;
  address: string;
  /** Name a new contact is created with (an existing contact is not touched here). */
  profileName?: string | null;
  /** A new conversation's last message time and unread count (inbound: the batch's own messages). */
  lastMessageAt?: Date | null;
  unread?: number;
}

/**
 * Set-based `upsertConversation` for many (channel, address) pairs at once (batch accept, inbound
 * batches): three statements whatever the count, instead of three to five per pair (1,000 pairs:
 * 5 s → tens of ms). Same rules as the single form. New rows start with the pair's name, time and
 * unread count, so the caller updates only the conversations that existed (`created` says which
 * did not): an update of a just-inserted row doubled the conversation writes of an inbound batch.
 * Returns conversation ids keyed by `${channelId}\n${address}`, and each conversation's contact.
 */
export async function upsertConversations(tx: Tx, tenantId: string, pairs: ConversationPair[]): Promise<{ ids: Map<string, string>; created: Set<string>; contactOf: Map<string, string> }> {
  const uniq = [...new Map(pairs.map((p) => [`${p.channelId}\n${p.address}`, p])).values()];
  const chans = uniq.map((p) => p.channelId);
  const addrs = uniq.map((p) => p.address);
  await sql`insert into contacts (tenant_id, id, channel_id, address, profile_name, is_group)
    select ${tenantId}, i, c, a, n, a like '%@g.us'
    from unnest(${uniq.map(() => newId('ctc'))}::text[], ${chans}::text[], ${addrs}::text[], ${uniq.map((p) => p.profileName ?? null)}::text[]) as x(i, c, a, n)
    order by c, a
    on conflict (tenant_id, channel_id, address) do nothing`.execute(tx);
  const created = await sql<{ id: string }>`insert into conversations (tenant_id, id, channel_id, contact_id, last_message_at, unread_count)
    select ${tenantId}, x.i, k.channel_id, k.id, x.t, x.u
    from unnest(${uniq.map(() => newId('cnv'))}::text[], ${chans}::text[], ${addrs}::text[], ${uniq.map((p) => p.lastMessageAt?.toISOString() ?? null)}::timestamptz[],
                ${uniq.map((p) => p.unread ?? 0)}::int[]) as x(i, c, a, t, u)
    join contacts k on k.tenant_id = ${tenantId} and k.channel_id = x.c and k.address = x.a
    order by k.channel_id, k.id
    on conflict (tenant_id, channel_id, contact_id) do nothing
    returning id`.execute(tx);
  const rows = await sql<{ channel_id: string; address: string; id: string; contact_id: string }>`
    select k.channel_id, k.address, v.id, v.contact_id
    from unnest(${chans}::text[], ${addrs}::text[]) as x(c, a)
    join contacts k on k.tenant_id = ${tenantId} and k.channel_id = x.c and k.address = x.a
    join conversations v on v.tenant_id = k.tenant_id and v.channel_id = k.channel_id and v.contact_id = k.id`.execute(tx);
  return {
    ids: new Map(rows.rows.map((r) => [`${r.channel_id}\n${r.address}`, r.id])),
    created: new Set(created.rows.map((r) => r.id)),
    contactOf: new Map(rows.rows.map((r) => [r.id, r.contact_id])),
  };
}
