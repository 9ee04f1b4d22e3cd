import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { audit, type Actor } from '../audit/audit.js';
import { AppError, notFound } from '../core/errors.js';
import type { Role } from '../db/schema.js';
import { ROLE_SCOPES } from '../identity/scopes.js';
import { withTenant, type TenantId, type Tx } from '../db/db.js';
import { emitEvent } from '../events/emit.js';
import { parseAddress } from '../core/address.js';
import type { TimeCursor } from '../http/pagination.js';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
/** `%`/`_` in a search term are literal characters, not wildcards. */
const like = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
/**
 * A search term that is a whole address written as one — a number with its `+` (any spacing), a
 * `…@c.us` / group / lid id or a bsuid — finds that contact exactly, through the (tenant, address,
 * channel) index. Anything else, bare digits included, is a substring search of addresses, names (and
 * message text for conversations), which has to read every row: bare digits may be a national
 * number (`5556660001` for +1 555 666 0001, which would parse as a Brazilian one) or a number
 * quoted in a message (decision 042).
 */
const exactAddress = (q: string): string | null => {
  const a = parseAddress(q);
  if (!a || a.kind === 'other') return null;
  if (a.kind === 'phone' && !q.trim().startsWith('+') && !q.includes('@')) return null;
  return a.value;
};

const conversationSelect = (tx: Tx) =>
  tx.selectFrom('conversations as c').innerJoin('contacts as k', 'k.id', 'c.contact_id')
    .select(['c.id', 'c.channel_id', 'c.status', 'c.mode', 'c.assignee_id', 'c.last_message_at', 'c.unread_count', 'c.created_at', 'c.updated_at',
      'k.id as contact_id', 'k.address', 'k.profile_name', 'k.is_group']);
/** A conversation's last activity: its last message, or its creation before it has one. */
const activity = sql<Date>`coalesce(c.last_message_at, c.created_at)`;
type ConvRow = Awaited<ReturnType<ReturnType<typeof conversationSelect>['executeTakeFirstOrThrow']>>;

export function conversationView(r: ConvRow) {
  return {
    id: r.id, channel_id: r.channel_id, status: r.status, mode: r.mode, assignee_id: r.assignee_id,
    last_message_at: iso(r.last_message_at), unread_count: r.unread_count,
    contact: { id: r.contact_id, address: r.address, profile_name: r.profile_name, is_group: r.is_group },
    created_at: iso(r.created_at)!, updated_at: iso(r.updated_at)!,
  };
}

export interface ConversationFilter {
  limit: number;
  /** `created` (default): newest conversation first. `recent`: latest activity first (decision 035). */
  sort?: 'created' | 'recent' | undefined;
  /** The last row of the previous page: an id (`created`), or its activity and id (`recent`). */
  before?: string | TimeCursor | undefined;
  status?: 'open' | 'closed' | undefined;
  channel_id?: string | undefined;
  /** A member's id, or `none`: conversations no one holds. */
  assignee_id?: string | undefined;
  mode?: 'bot' | 'human' | undefined;
  q?: string | undefined;
}

export const listConversations = (ctx: AppContext, tenantId: TenantId, f: ConversationFilter) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    // `activity`: the row's last activity at PostgreSQL's precision, for the `recent` order's cursor.
    let q = conversationSelect(tx).select(sql<string>`to_char(${activity} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('activity')).limit(f.limit + 1);
    if (f.sort === 'recent') {
      q = q.orderBy(activity, 'desc').orderBy('c.id', 'desc');
      if (typeof f.before === 'object') q = q.where(sql<boolean>`(${activity}, c.id) < (${f.before.at}::timestamptz, ${f.before.id})`);
    } else {
      q = q.orderBy('c.id', 'desc');
      if (typeof f.before === 'string') q = q.where('c.id', '<', f.before);
    }
    if (f.status) q = q.where('c.status', '=', f.status);
    if (f.mode) q = q.where('c.mode', '=', f.mode);
    if (f.channel_id) q = q.where('c.channel_id', '=', f.channel_id);
    if (f.assignee_id === 'none') q = q.where('c.assignee_id', 'is', null);
    else if (f.assignee_id) q = q.where('c.assignee_id', '=', f.assignee_id);
    const exact = f.q ? exactAddress(f.q) : null;
    if (exact) q = q.where('k.address', '=', exact);
    else if (f.q) {
      const p = like(f.q);
      q = q.where(sql<boolean>`(k.address ilike ${p} or k.profile_name ilike ${p} or exists (
        select 1 from messages m where m.conversation_id = c.id and m.content->>'text' ilike ${p}))`);
    }
    return q.execute();
  });

async function findConversation(tx: Tx, id: string): Promise<ConvRow> {
  const r = await conversationSelect(tx).where('c.id', '=', id).executeTakeFirst();
  if (!r) throw notFound('conversation');
  return r;
}

export const getConversation = (ctx: AppContext, tenantId: TenantId, id: string) =>
  withTenant(ctx.db, tenantId, async (tx) => conversationView(await findConversation(tx, id)));

export function messageView(m: { id: string; conversation_id: string; channel_id: string; direction: string; status: string; type: string; content: unknown; peer: string; sender: string | null; provider_message_id: string | null; reply_to: string | null; error_code: string | null; error_detail: string | null; created_at: Date; metadata: unknown }) {
  return {
    id: m.id, conversation_id: m.conversation_id, channel_id: m.channel_id, direction: m.direction as 'in' | 'out', status: m.status, type: m.type,
    content: m.content as Record<string, unknown>, peer: m.peer, sender: m.sender, provider_message_id: m.provider_message_id, reply_to: m.reply_to,
    error: m.error_code ? { code: m.error_code, detail: m.error_detail } : null, metadata: m.metadata as Record<string, unknown>, created_at: iso(m.created_at)!,
  };
}

export const listConversationMessages = (ctx: AppContext, tenantId: TenantId, id: string, limit: number, before?: string, q?: string) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    await findConversation(tx, id);
    let query = tx.selectFrom('messages').selectAll().where('conversation_id', '=', id).orderBy('id', 'desc').limit(limit + 1);
    if (before) query = query.where('id', '<', before);
    if (q) query = query.where(sql<boolean>`content->>'text' ilike ${like(q)}`);
    return query.execute();
  });

export interface ConversationPatch {
  status?: 'open' | 'closed';
  mode?: 'bot' | 'human';
  assignee_id?: string | null;
  mark_read?: boolean;
}

/** Roles that may hold a conversation: those whose scopes include conversations:write (decision 049). */
const ASSIGNABLE_ROLES = (Object.keys(ROLE_SCOPES) as Role[]).filter((r) => ROLE_SCOPES[r].includes('conversations:write'));

/**
 * Held (FOR SHARE) until the assignment commits: removing the member or making them a viewer at the
 * same moment waits, and its hand-back of their conversations then sees this one — or, when it came
 * first, this finds the member gone or a viewer (review of 2026-12-01: the assignment had outlived
 * the membership for good).
 */
async function assertAssignable(tx: Tx, userId: string): Promise<void> {
  const member = await tx.selectFrom('memberships').select('role').where('user_id', '=', userId).forShare().executeTakeFirst();
  if (!member) throw notFound('member');
  if (!ASSIGNABLE_ROLES.includes(member.role)) {
    throw new AppError('validation_failed', `a ${member.role} cannot be assigned conversations; assign one of: ${ASSIGNABLE_ROLES.join(', ')}`, {
      details: { errors: [{ path: '/assignee_id', message: `the member's role (${member.role}) cannot handle conversations` }] },
    });
  }
}

/**
 * Applies what differs from the conversation as it is: fields already at the asked value and
 * `mark_read` on a read conversation (or `false`, which marks nothing) change nothing. A PATCH that
 * changes nothing answers the conversation as it is, with no audit entry, no event and the same
 * `updated_at`; otherwise the audit entry and the `conversation.updated` event name only what changed
 * (decision 049).
 */
export const updateConversation = (ctx: AppContext, actor: Actor, tenantId: TenantId, id: string, p: ConversationPatch) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    // Locked before it is compared, so of two PATCHes at once the second sees the first's result:
    // the same change asked twice is one change, one audit entry, one event. NO KEY UPDATE (what
    // the UPDATE takes anyway) lets the conversation's new messages in meanwhile (their foreign key).
    await tx.selectFrom('conversations').select('id').where('id', '=', id).forNoKeyUpdate().execute();
    const cur = await findConversation(tx, id);
    const changes: ConversationPatch = {};
    if (p.status !== undefined && p.status !== cur.status) changes.status = p.status;
    if (p.mode !== undefined && p.mode !== cur.mode) changes.mode = p.mode;
    if (p.assignee_id !== undefined && p.assignee_id !== cur.assignee_id) changes.assignee_id = p.assignee_id;
    if (p.mark_read === true && cur.unread_count > 0) changes.mark_read = true;
    if (Object.keys(changes).length === 0) return conversationView(cur);
    if (changes.assignee_id) await assertAssignable(tx, changes.assignee_id);
    await tx.updateTable('conversations').set({
      ...(changes.status ? { status: changes.status } : {}),
      ...(changes.mode ? { mode: changes.mode } : {}),
      ...(changes.assignee_id !== undefined ? { assignee_id: changes.assignee_id } : {}),
      ...(changes.mark_read ? { unread_count: 0 } : {}),
      updated_at: new Date(),
    }).where('id', '=', id).execute();
    const view = conversationView(await findConversation(tx, id));
    await audit(tx, { tenantId, actor, action: 'conversation.updated', targetType: 'conversation', targetId: id, details: { ...changes } });
    await emitEvent(tx, { tenantId, type: 'conversation.updated', channelId: view.channel_id, data: { conversation: view, changes: { ...changes } } });
    return view;
  });

/**
 * Hands back the conversations of a member who may no longer hold them (removed, or now a viewer):
 * each becomes unassigned with its own `conversation.updated` event, in the caller's transaction.
 * Returns how many.
 */
export async function unassignMember(tx: Tx, tenantId: string, userId: string): Promise<number> {
  const ids = await tx.updateTable('conversations').set({ assignee_id: null, updated_at: new Date() }).where('assignee_id', '=', userId).returning('id').execute();
  if (ids.length === 0) return 0;
  const rows = await conversationSelect(tx).where('c.id', 'in', ids.map((r) => r.id)).execute();
  for (const r of rows) {
    const view = conversationView(r);
    await emitEvent(tx, { tenantId, type: 'conversation.updated', channelId: view.channel_id, data: { conversation: view, changes: { assignee_id: null } } });
  }
  return ids.length;
}

export const listContacts = (ctx: AppContext, tenantId: TenantId, f: { limit: number; before?: string | undefined; channel_id?: string | undefined; q?: string | undefined }) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    let q = tx.selectFrom('contacts').selectAll().orderBy('id', 'desc').limit(f.limit + 1);
    if (f.before) q = q.where('id', '<', f.before);
    if (f.channel_id) q = q.where('channel_id', '=', f.channel_id);
    const exact = f.q ? exactAddress(f.q) : null;
    if (exact) q = q.where('address', '=', exact);
    else if (f.q) q = q.where(sql<boolean>`(address ilike ${like(f.q)} or profile_name ilike ${like(f.q)})`);
    return q.execute();
  });

export const contactView = (c: { id: string; channel_id: string; address: string; profile_name: string | null; is_group: boolean; created_at: Date; updated_at: Date }) => ({
  id: c.id, channel_id: c.channel_id, address: c.address, profile_name: c.profile_name, is_group: c.is_group, created_at: iso(c.created_at)!, updated_at: iso(c.updated_at)!,
});

/** Tenant dashboard figures. "Today" is the UTC day; "active" = open with a message in the last 24 h. */
export const stats = (ctx: AppContext, tenantId: TenantId) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    const totals = await sql<{ contacts: number; conversations: number; messages: number; active: number }>`
      select (select count(*) from contacts)::int as contacts, (select count(*) from conversations)::int as conversations,
             (select count(*) from messages)::int as messages,
             (select count(*) from conversations where status = 'open' and last_message_at > now() - interval '24 hours')::int as active`.execute(tx);
    // One pass over today's messages and one over open conversations, grouped by line: a count per
    // line and direction re-read the whole day once per pair (1.5 s against 0.34 s for the whole
    // request at 400,000 messages today on 10 lines; docs/performance.md, "API reads").
    const per = await sql<{ channel_id: string; in_today: number; out_today: number; open: number }>`
      select ch.id as channel_id, coalesce(d.in_today, 0)::int as in_today, coalesce(d.out_today, 0)::int as out_today, coalesce(o.open, 0)::int as open
      from channels ch
      left join (select m.channel_id, count(*) filter (where m.direction = 'in') as in_today, count(*) filter (where m.direction = 'out') as out_today
                 from messages m where m.created_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc' group by m.channel_id) d on d.channel_id = ch.id
      left join (select c.channel_id, count(*) as open from conversations c where c.status = 'open' group by c.channel_id) o on o.channel_id = ch.id
      order by ch.id`.execute(tx);
    const t = totals.rows[0]!;
    return {
      totals: { contacts: t.contacts, conversations: t.conversations, messages: t.messages },
      today: { messages_in: per.rows.reduce((s, r) => s + r.in_today, 0), messages_out: per.rows.reduce((s, r) => s + r.out_today, 0) },
      active_conversations: t.active,
      channels: per.rows.map((r) => ({ channel_id: r.channel_id, messages_in_today: r.in_today, messages_out_today: r.out_today, open_conversations: r.open })),
    };
  });
