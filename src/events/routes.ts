import { Type } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import { tenantOf } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { actorOf } from '../audit/audit.js';
import { AppError } from '../core/errors.js';
import { asTenantId, withTenant } from '../db/db.js';
import { bodyOf, errorResponses, IdParam } from '../http/schemas.js';
import { decodeCursor, Page, PageQuery, toPage } from '../http/pagination.js';
import { EVENT_TYPES } from './emit.js';
import { createEndpoint, deleteEndpoint, endpointView, findEndpoint, getSecret, rotateSecret, updateEndpoint } from './endpoints.js';
import { listDeliveries, replayDelivery, replayFailedSince } from './replay.js';
import { closeAllStreams, EVENT_ID, idTime, streamEvents } from './stream.js';
import { authenticate } from '../identity/authenticate.js';

const EventTypeT = Type.Union([...EVENT_TYPES.map((t) => Type.Literal(t)), Type.Literal('*')]);
const Url = Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 });
const Endpoint = Type.Object({
  id: Type.String(), url: Type.String(), description: Type.Union([Type.String(), Type.Null()]), event_types: Type.Array(Type.String()),
  status: Type.Union([Type.Literal('enabled'), Type.Literal('disabled')]), disabled_reason: Type.Union([Type.String(), Type.Null()], { description: 'manual | gone (410) | failing (5 days)' }),
  failing_since: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the current run of failed attempts began; while set, the endpoint gets one delivery at a time until one succeeds (decision 052)' }), created_at: Type.String({ format: 'date-time' }), updated_at: Type.String({ format: 'date-time' }),
});
const Secret = Type.String({ description: 'whsec_… (Standard Webhooks); verify webhook-signature with it' });
const Delivery = Type.Object({
  id: Type.String(), event_id: Type.String(), event_type: Type.String(), status: Type.String(), attempts: Type.Integer(),
  next_attempt_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]), last_status_code: Type.Union([Type.Integer(), Type.Null()]), last_error: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  log: Type.Array(Type.Object({ status_code: Type.Union([Type.Integer(), Type.Null()]), latency_ms: Type.Integer(), error: Type.Union([Type.String(), Type.Null()]), at: Type.String({ format: 'date-time' }) })),
});
const Replayed = Type.Object({ queued: Type.Integer(), delivery_ids: Type.Array(Type.String()) });
const Event = Type.Object({ id: Type.String(), type: Type.String(), channel_id: Type.Union([Type.String(), Type.Null()]), data: Type.Record(Type.String(), Type.Unknown()), created_at: Type.String({ format: 'date-time' }) });

export function eventRoutes(app: App, ctx: AppContext): void {
  const tags = ['events'];
  const P = IdParam('endpointId', 'whe');
  // Open streams would otherwise keep app.close() waiting forever.
  app.addHook('preClose', async () => closeAllStreams());
  const body = { url: Url, event_types: Type.Array(EventTypeT, { minItems: 1, maxItems: 20, uniqueItems: true }), description: Type.Optional(Type.String({ maxLength: 500 })) };

  app.post('/v1/webhook-endpoints', {
    config: { scope: 'webhooks:write' },
    schema: { tags, summary: 'Add a webhook endpoint (URL checked by the egress policy); the answer holds its secret', body: Type.Object(body, { additionalProperties: false }), response: { 201: Type.Intersect([Endpoint, Type.Object({ secret: Secret })]), ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(await createEndpoint(ctx, actorOf(req), tenantOf(req), req.body)));

  app.get('/v1/webhook-endpoints', { config: { scope: 'webhooks:read' }, schema: { tags, summary: 'List webhook endpoints', querystring: Type.Object(PageQuery), response: { 200: Page(Endpoint), ...errorResponses } } },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const before = decodeCursor(req.query.cursor, 'whe');
      const rows = await withTenant(ctx.db, tenantOf(req), (tx) => {
        let q = tx.selectFrom('webhook_endpoints').selectAll().orderBy('id', 'desc').limit(limit + 1);
        if (before) q = q.where('id', '<', before);
        return q.execute();
      });
      return toPage(rows, limit, (r) => endpointView(r as never));
    });

  app.get('/v1/webhook-endpoints/:endpointId', { config: { scope: 'webhooks:read' }, schema: { tags, summary: 'Get a webhook endpoint', params: P, response: { 200: Endpoint, ...errorResponses } } },
    async (req) => withTenant(ctx.db, tenantOf(req), async (tx) => endpointView(await findEndpoint(tx, req.params.endpointId))));

  app.patch('/v1/webhook-endpoints/:endpointId', {
    config: { scope: 'webhooks:write' },
    schema: { tags, summary: 'Change URL, event types, description; enable or disable', params: P, body: Type.Object({ url: Type.Optional(body.url), event_types: Type.Optional(body.event_types), description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()], { description: 'null clears it' })), status: Type.Optional(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])) }, { additionalProperties: false, minProperties: 1 }), response: { 200: Endpoint, ...errorResponses } },
  }, async (req) => updateEndpoint(ctx, actorOf(req), tenantOf(req), req.params.endpointId, req.body));

  app.delete('/v1/webhook-endpoints/:endpointId', { config: { scope: 'webhooks:write' }, schema: { tags, summary: 'Delete a webhook endpoint', params: P, response: { 204: Type.Null(), ...errorResponses } } },
    async (req, reply) => {
      await deleteEndpoint(ctx, actorOf(req), tenantOf(req), req.params.endpointId);
      return reply.status(204).send(null);
    });

  app.get('/v1/webhook-endpoints/:endpointId/secret', { config: { scope: 'webhooks:write' }, schema: { tags, summary: 'Reveal the current signing secret', params: P, response: { 200: Type.Object({ secret: Secret }), ...errorResponses } } },
    async (req) => getSecret(ctx, tenantOf(req), req.params.endpointId));

  app.post('/v1/webhook-endpoints/:endpointId/rotate-secret', {
    config: { scope: 'webhooks:write' },
    schema: {
      tags, summary: 'New secret; the previous one keeps signing (second signature) for 24 h, or as long as asked (0: ends now). 409 while an earlier rotation\'s previous secret still signs, unless 0', params: P,
      body: Type.Object({ previous_expires_in_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400, default: 86_400, description: 'How long the current secret keeps signing beside the new one; 0 for a leaked secret' })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ secret: Secret, previous_secret_expires_at: Type.String({ format: 'date-time' }) }), ...errorResponses },
    },
    // No body at all (how this call was first documented) means the defaults.
    preValidation: async (req) => {
      req.body ??= {};
    },
  }, async (req) => rotateSecret(ctx, actorOf(req), tenantOf(req), req.params.endpointId, (req.body.previous_expires_in_seconds ?? 86_400) * 1000));

  app.get('/v1/webhook-endpoints/:endpointId/deliveries', {
    config: { scope: 'webhooks:read' },
    schema: { tags, summary: 'Delivery log: every attempt with status code and latency (kept as long as its event)', params: P, querystring: Type.Object({ ...PageQuery, status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')])) }), response: { 200: Page(Delivery), ...errorResponses } },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    return toPage(await listDeliveries(ctx, tenantOf(req), req.params.endpointId, limit, decodeCursor(req.query.cursor, 'dlv'), req.query.status), limit, (d) => d);
  });

  app.post('/v1/webhook-endpoints/:endpointId/deliveries/:deliveryId/replay', {
    config: { scope: 'webhooks:write' },
    schema: { tags, summary: 'Deliver one event again (409 while the endpoint is disabled)', params: Type.Intersect([P, IdParam('deliveryId', 'dlv')]), response: { 202: Replayed, ...errorResponses } },
  }, async (req, reply) => reply.status(202).send(await replayDelivery(ctx, actorOf(req), tenantOf(req), req.params.endpointId, req.params.deliveryId)));

  app.post('/v1/webhook-endpoints/:endpointId/replay', {
    config: { scope: 'webhooks:write' },
    schema: { tags, summary: 'Deliver again every event whose delivery failed since a time and that has not been received or queued again since; with `missed`, also every event since then of a subscribed type that the endpoint never had a delivery of (emitted while it was disabled) (at most 10,000 a call, oldest first; 409 while the endpoint is disabled)', params: P, body: Type.Object({ since: Type.String({ format: 'date-time' }), missed: Type.Optional(Type.Boolean({ default: false, description: 'Also events the endpoint never got a delivery of (it was disabled when they were emitted)' })) }, { additionalProperties: false }), response: { 202: Replayed, ...errorResponses } },
  }, async (req, reply) => reply.status(202).send(await replayFailedSince(ctx, actorOf(req), tenantOf(req), req.params.endpointId, new Date(req.body.since), req.body.missed ?? false)));

  app.get('/v1/events', {
    config: { scope: 'webhooks:read' },
    schema: { tags, summary: 'Recent tenant events, newest first (kept EVENTS_RETENTION_DAYS, 30 by default)', querystring: Type.Object({ ...PageQuery, type: Type.Optional(Type.String({ maxLength: 64 })) }), response: { 200: Page(Event), ...errorResponses } },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const before = decodeCursor(req.query.cursor, 'evt');
    const rows = await withTenant(ctx.db, tenantOf(req), (tx) => {
      let q = tx.selectFrom('events').selectAll().orderBy('id', 'desc').limit(limit + 1);
      if (before) q = q.where('id', '<', before);
      if (req.query.type) q = q.where('type', '=', req.query.type);
      return q.execute();
    });
    return toPage(rows, limit, (e) => ({ id: e.id, type: e.type, channel_id: e.channel_id, data: e.data, created_at: new Date(e.created_at).toISOString() }));
  });

  app.get('/v1/events/stream', {
    config: { scope: 'webhooks:read' },
    schema: { tags, summary: 'Server-Sent Events of this tenant; resume with the Last-Event-ID header', querystring: Type.Object({ last_event_id: Type.Optional(Type.String({ pattern: EVENT_ID.source })) }), response: { 200: bodyOf('An endless stream: `id:` (the event id), `event:` (its type) and `data:` (the event as JSON) per event, a comment line as heartbeat', { 'text/event-stream': Type.String() }), ...errorResponses } },
  }, async (req, reply) => {
    const header = req.headers['last-event-id'];
    const last = (typeof header === 'string' ? header : undefined) ?? req.query.last_event_id;
    if (last !== undefined && !EVENT_ID.test(last)) throw new AppError('validation_failed', 'Last-Event-ID is not an event id');
    // An id from the future would hold the stream's cursor above every event to come: nothing sent.
    if (last !== undefined && idTime(last) > Date.now() + 60_000) throw new AppError('validation_failed', 'Last-Event-ID names a time in the future; it is not an id this server issued');
    const tenantId = asTenantId(tenantOf(req));
    // The credential is checked again on every heartbeat (through the auth cache, which a revocation
    // or suspension clears over LISTEN): a stream must not outlive its right to read.
    const stillAllowed = async () => {
      const p = await authenticate(ctx, req).catch(() => null);
      return p !== null && p.kind !== 'superadmin' && p.tenantId === tenantId && p.scopes.has('webhooks:read');
    };
    streamEvents(ctx, tenantId, last, reply, stillAllowed);
  });
}
