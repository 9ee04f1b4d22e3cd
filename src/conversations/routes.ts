import { Type } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import { tenantOf } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { actorOf } from '../audit/audit.js';
import { errorResponses, IdParam } from '../http/schemas.js';
import { decodeCursor, decodeTimeCursor, encodeTimeCursor, Page, PageQuery, toPage } from '../http/pagination.js';
import { contactView, conversationView, getConversation, listContacts, listConversationMessages, listConversations, messageView, stats, updateConversation } from './service.js';

const Contact = Type.Object({
  id: Type.String(), channel_id: Type.String(), address: Type.String({ description: 'Canonical address: +E164, …@g.us, …@lid or bsuid:…' }),
  profile_name: Type.Union([Type.String(), Type.Null()]), is_group: Type.Boolean(), created_at: Type.String({ format: 'date-time' }), updated_at: Type.String({ format: 'date-time' }),
});
const Conversation = Type.Object({
  id: Type.String(), channel_id: Type.String(), status: Type.Union([Type.Literal('open'), Type.Literal('closed')]), mode: Type.Union([Type.Literal('bot'), Type.Literal('human')]),
  assignee_id: Type.Union([Type.String(), Type.Null()]), last_message_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]), unread_count: Type.Integer(),
  contact: Type.Object({ id: Type.String(), address: Type.String(), profile_name: Type.Union([Type.String(), Type.Null()]), is_group: Type.Boolean() }),
  created_at: Type.String({ format: 'date-time' }), updated_at: Type.String({ format: 'date-time' }),
});
const Message = Type.Object({
  id: Type.String(), conversation_id: Type.String(), channel_id: Type.String(), direction: Type.Union([Type.Literal('in'), Type.Literal('out')]), status: Type.String(), type: Type.String(),
  content: Type.Record(Type.String(), Type.Unknown()), peer: Type.String(), sender: Type.Union([Type.String(), Type.Null()]), provider_message_id: Type.Union([Type.String(), Type.Null()]),
  reply_to: Type.Union([Type.String(), Type.Null()]), error: Type.Union([Type.Object({ code: Type.String(), detail: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  metadata: Type.Record(Type.String(), Type.Unknown()), created_at: Type.String({ format: 'date-time' }),
});
const Stats = Type.Object({
  totals: Type.Object({ contacts: Type.Integer(), conversations: Type.Integer(), messages: Type.Integer() }),
  today: Type.Object({ messages_in: Type.Integer(), messages_out: Type.Integer() }, { description: 'Since 00:00 UTC' }),
  active_conversations: Type.Integer({ description: 'Open, with a message in the last 24 h' }),
  channels: Type.Array(Type.Object({ channel_id: Type.String(), messages_in_today: Type.Integer(), messages_out_today: Type.Integer(), open_conversations: Type.Integer() })),
});
const Q = Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Search: `+<number>` or a WhatsApp id (`…@c.us`, `…@g.us`, `…@lid`, `bsuid:…`) finds that contact exactly; any other term matches part of the address, the profile name or (conversations) message text' }));
const TextQ = Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Search: messages whose text contains this (case-insensitive)' }));
const ChannelFilter = Type.Optional(Type.String({ pattern: '^chn_[0-9A-Z]{26}$' }));
const Sort = Type.Optional(Type.Union([Type.Literal('created'), Type.Literal('recent')], {
  default: 'created',
  description: '`created`: newest conversation first. `recent`: latest message first (an inbox); a conversation that gets a message while you page moves to the top, so a later page may skip or repeat it. Cursors belong to one order.',
}));

export function conversationRoutes(app: App, ctx: AppContext): void {
  const tags = ['conversations'];
  const P = IdParam('conversationId', 'cnv');

  app.get('/v1/conversations', {
    config: { scope: 'conversations:read' },
    schema: { tags, summary: 'List conversations, newest first or latest activity first; search by phone, name or text', querystring: Type.Object({ ...PageQuery, sort: Sort, q: Q, channel_id: ChannelFilter, status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])), mode: Type.Optional(Type.Union([Type.Literal('bot'), Type.Literal('human')])), assignee_id: Type.Optional(Type.Union([Type.String({ pattern: '^usr_[0-9A-Z]{26}$' }), Type.Literal('none')], { description: 'A member\'s id, or `none` for conversations no one is assigned' })) }), response: { 200: Page(Conversation), ...errorResponses } },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    if (req.query.sort === 'recent') {
      const rows = await listConversations(ctx, tenantOf(req), { ...req.query, limit, before: decodeTimeCursor(req.query.cursor) });
      return toPage(rows, limit, conversationView, (r) => encodeTimeCursor({ at: r.activity, id: r.id }));
    }
    const rows = await listConversations(ctx, tenantOf(req), { ...req.query, limit, before: decodeCursor(req.query.cursor, 'cnv') });
    return toPage(rows, limit, conversationView);
  });

  app.get('/v1/conversations/:conversationId', { config: { scope: 'conversations:read' }, schema: { tags, summary: 'Get a conversation', params: P, response: { 200: Conversation, ...errorResponses } } },
    async (req) => getConversation(ctx, tenantOf(req), req.params.conversationId));

  app.get('/v1/conversations/:conversationId/messages', {
    config: { scope: 'conversations:read' },
    schema: { tags, summary: 'Messages of a conversation (both directions), newest first', params: P, querystring: Type.Object({ ...PageQuery, q: TextQ }), response: { 200: Page(Message), ...errorResponses } },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    return toPage(await listConversationMessages(ctx, tenantOf(req), req.params.conversationId, limit, decodeCursor(req.query.cursor, 'msg'), req.query.q), limit, messageView);
  });

  app.patch('/v1/conversations/:conversationId', {
    config: { scope: 'conversations:write' },
    schema: { tags, summary: 'Assign (owner, admin or agent; null unassigns), close/reopen, switch bot/human mode, mark read. Fields already at the value change nothing; a request that changes nothing records no audit entry and sends no event', params: P, body: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])), mode: Type.Optional(Type.Union([Type.Literal('bot'), Type.Literal('human')])), assignee_id: Type.Optional(Type.Union([Type.String({ pattern: '^usr_[0-9A-Z]{26}$' }), Type.Null()])), mark_read: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 }), response: { 200: Conversation, ...errorResponses } },
  }, async (req) => updateConversation(ctx, actorOf(req), tenantOf(req), req.params.conversationId, req.body));

  app.get('/v1/contacts', {
    config: { scope: 'conversations:read' },
    schema: { tags, summary: 'List contacts; search by phone or name', querystring: Type.Object({ ...PageQuery, q: Q, channel_id: ChannelFilter }), response: { 200: Page(Contact), ...errorResponses } },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    return toPage(await listContacts(ctx, tenantOf(req), { ...req.query, limit, before: decodeCursor(req.query.cursor, 'ctc') }), limit, contactView);
  });

  app.get('/v1/stats', { config: { scope: 'conversations:read' }, schema: { tags, summary: 'Totals, messages today in/out, active conversations, per channel', response: { 200: Stats, ...errorResponses } } },
    async (req) => stats(ctx, tenantOf(req)));
}
