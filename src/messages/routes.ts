import { Type, type TSchema } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import { tenantOf } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { Binary, bodyOf, errorResponses, IdParam, Problem } from '../http/schemas.js';
import { decodeCursor, Page, PageQuery, toPage } from '../http/pagination.js';
import { acceptMessages } from './accept.js';
import { AcceptQueue } from './accept-one.js';
import { checkKey } from './idempotency.js';
import { Accepted, BatchAccepted, BatchBody, Message, MessageStatusT, SendBody } from './schemas.js';
import { cancelMessage, getMessage, listMessages, messageView, type ListFilter } from './service.js';
import type { SendInput } from './validate.js';
import { attachmentDisposition, messageMedia } from './media.js';
import { usageRoutes } from '../delivery/usage-routes.js';

const IdemHeader = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ maxLength: 255, description: 'Same key + same body within 24 h replays the first answer; a different body is 409' })),
});
const replayable = (schema: TSchema) => ({
  description: 'Accepted; a replay of an earlier request with the same Idempotency-Key carries `Idempotent-Replayed: true`',
  headers: { 'Idempotent-Replayed': Type.Literal('true') },
  content: { 'application/json': { schema } },
});

/** Outbound messages and, with them, usage (one registration line in src/http/routes.ts). */
export function messageRoutes(app: App, ctx: AppContext): void {
  usageRoutes(app, ctx);
  const tags = ['messages'];
  const queue = new AcceptQueue(ctx);
  app.post('/v1/messages', {
    config: { scope: 'messages:write' },
    schema: { tags, summary: 'Queue one message (202 once it and its delivery job are committed)', headers: IdemHeader, body: SendBody, response: { 202: replayable(Accepted), ...errorResponses } },
  }, async (req, reply) => {
    const r = await acceptMessages(ctx, tenantOf(req), {
      messages: [req.body as SendInput], batch: false, idempotencyKey: checkKey(req.headers['idempotency-key']), route: 'POST /v1/messages', rawBody: req.body, queue,
    });
    if (r.replayed) void reply.header('idempotent-replayed', 'true');
    return reply.status(r.code as 202).send(r.body); // only accepted answers are stored for replay
  });

  app.post('/v1/messages/batch', {
    config: { scope: 'messages:write' },
    schema: { tags, summary: 'Queue up to 1,000 messages in one transaction (all or nothing)', headers: IdemHeader, body: BatchBody, response: { 202: replayable(BatchAccepted), ...errorResponses } },
  }, async (req, reply) => {
    const r = await acceptMessages(ctx, tenantOf(req), {
      messages: req.body.messages as SendInput[], batch: true, idempotencyKey: checkKey(req.headers['idempotency-key']), route: 'POST /v1/messages/batch', rawBody: req.body,
    });
    if (r.replayed) void reply.header('idempotent-replayed', 'true');
    return reply.status(r.code as 202).send(r.body); // only accepted answers are stored for replay
  });

  const Q = Type.Object({
    ...PageQuery,
    channel_id: Type.Optional(Type.String({ pattern: '^chn_[0-9A-Z]{26}$' })),
    conversation_id: Type.Optional(Type.String({ pattern: '^cnv_[0-9A-Z]{26}$' })),
    status: Type.Optional(MessageStatusT),
    direction: Type.Optional(Type.Union([Type.Literal('in'), Type.Literal('out')])),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'created at or after' })),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'created before' })),
  });
  app.get('/v1/messages', { config: { scope: 'messages:read' }, schema: { tags, summary: 'List messages, newest first', querystring: Q, response: { 200: Page(Message), ...errorResponses } } },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const { limit: _l, cursor, ...filter } = req.query;
      return toPage(await listMessages(ctx, tenantOf(req), filter as ListFilter, limit, decodeCursor(cursor, 'msg')), limit, messageView);
    });

  const P = IdParam('messageId', 'msg');
  app.get('/v1/messages/:messageId', { config: { scope: 'messages:read' }, schema: { tags, summary: 'Get a message and its delivery status', params: P, response: { 200: Message, ...errorResponses } } },
    async (req) => getMessage(ctx, tenantOf(req), req.params.messageId));

  app.get('/v1/messages/:messageId/media', {
    config: { scope: 'messages:read' },
    schema: {
      tags, summary: "The file of a media message: the bytes when the provider holds it behind the line's credentials (Cloud API, WAHA), a 302 to it when it is a plain link (UltraMsg, links you sent)",
      params: P,
      response: { 200: bodyOf('The file, as an attachment, with its own content type', { '*/*': Binary() }), 302: Type.Null({ description: 'The file is a plain link: `Location` names it' }), ...errorResponses, 502: Problem, 504: Problem },
    },
  }, async (req, reply) => {
    const media = await messageMedia(ctx, tenantOf(req), req.params.messageId);
    if (media.kind === 'link') return reply.redirect(media.url, 302);
    // A stranger chose these bytes and their type: never rendered on our origin.
    return reply
      .type(media.mimeType)
      .header('content-disposition', attachmentDisposition(media.filename))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('cache-control', 'private, max-age=300')
      .send(media.data);
  });

  app.post('/v1/messages/:messageId/cancel', { config: { scope: 'messages:write' }, schema: { tags, summary: 'Cancel a message that is still queued', params: P, response: { 200: Message, ...errorResponses } } },
    async (req) => cancelMessage(ctx, tenantOf(req), req.params.messageId));
}
