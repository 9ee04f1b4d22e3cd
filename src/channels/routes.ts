import { Type } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import { tenantOf } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { actorOf } from '../audit/audit.js';
import { errorResponses, IdParam, Int32, Name } from '../http/schemas.js';
import { decodeCursor, Page, PageQuery, toPage } from '../http/pagination.js';
import { channelView, checkChannelHealth, createChannel, deleteChannel, getChannel, listChannels, updateChannel } from './service.js';
import { PROVIDER_IDS } from '../providers/types.js';

const ProviderT = Type.Union(PROVIDER_IDS.map((p) => Type.Literal(p)));
const Credentials = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
  description: 'Provider-specific credentials; see GET /v1/providers for each provider\'s fields. Secret fields are write-only.',
  maxProperties: 30,
});
export const Channel = Type.Object({
  id: Type.String(),
  name: Type.String(),
  provider: ProviderT,
  external_id: Type.String({ description: 'The provider line id (Cloud API phone_number_id, WAHA session, UltraMsg instance)' }),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  credentials: Type.Record(Type.String(), Type.Unknown(), { description: 'Non-secret fields as stored; secret fields masked' }),
  rate_per_second: Type.Number(),
  burst: Type.Integer(),
  daily_limit: Type.Union([Type.Integer(), Type.Null()]),
  webhook_url: Type.String({ description: 'Configure this URL at the provider' }),
  health: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
const Rate = { rate_per_second: Type.Optional(Type.Number({ minimum: 0.01, maximum: 1000, description: 'messages a second; at least 0.01 (one in 100 s)' })), burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), daily_limit: Type.Optional(Type.Union([Int32({ minimum: 1 }), Type.Null()])) };

export function channelRoutes(app: App, ctx: AppContext): void {
  const tags = ['channels'];
  app.get('/v1/providers', {
    config: { scope: 'channels:read' },
    schema: { tags, summary: 'Providers and the credential fields each needs', response: { 200: Type.Object({ data: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), capabilities: Type.Unknown(), fields: Type.Array(Type.Unknown()), rate_defaults: Type.Unknown() })) }), ...errorResponses } },
  }, async () => ({
    data: ctx.providers.ids().map((id) => {
      const d = ctx.providers.definition(id);
      return { id, name: d.displayName, capabilities: d.capabilities, fields: d.credentials.fields, rate_defaults: d.rateDefaults };
    }),
  }));

  app.post('/v1/channels', {
    config: { scope: 'channels:write' },
    schema: { tags, summary: 'Connect a line (credentials are tested live before saving, then encrypted)', body: Type.Object({ name: Name, provider: ProviderT, credentials: Credentials, ...Rate }, { additionalProperties: false }), response: { 201: Channel, ...errorResponses, 502: Type.Ref('Problem') } },
  }, async (req, reply) => reply.status(201).send(await createChannel(ctx, actorOf(req), tenantOf(req), req.body)));

  app.get('/v1/channels', { config: { scope: 'channels:read' }, schema: { tags, summary: 'List channels', querystring: Type.Object(PageQuery), response: { 200: Page(Channel), ...errorResponses } } },
    async (req) => {
      const limit = req.query.limit ?? 50;
      return toPage(await listChannels(ctx, tenantOf(req), limit, decodeCursor(req.query.cursor, 'chn')), limit, (c) => channelView(ctx, c));
    });

  const P = IdParam('channelId', 'chn');
  app.get('/v1/channels/:channelId', { config: { scope: 'channels:read' }, schema: { tags, summary: 'Get a channel', params: P, response: { 200: Channel, ...errorResponses } } },
    async (req) => getChannel(ctx, tenantOf(req), req.params.channelId));

  app.patch('/v1/channels/:channelId', {
    config: { scope: 'channels:write' },
    schema: { tags, summary: 'Rename, disable, re-credential or re-rate a channel', description: 'Secret credential fields left out (or sent back as `********`) keep their stored values, except when the change points the channel at another address (a URL field) or line: then every secret must be sent again (400 otherwise), so stored secrets never go to a new address. A credential change made by someone else while this one was tested is a 409.', params: P, body: Type.Object({ name: Type.Optional(Name), status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])), credentials: Type.Optional(Credentials), ...Rate }, { additionalProperties: false, minProperties: 1 }), response: { 200: Channel, ...errorResponses, 502: Type.Ref('Problem') } },
  }, async (req) => updateChannel(ctx, actorOf(req), tenantOf(req), req.params.channelId, req.body));

  app.delete('/v1/channels/:channelId', { config: { scope: 'channels:write' }, schema: { tags, summary: "Delete a channel and everything of it (contacts, conversations, messages, queued sends); a WAHA/UltraMsg line's webhook is taken off its session, which stays paired", params: P, response: { 204: Type.Null(), ...errorResponses } } },
    async (req, reply) => {
      await deleteChannel(ctx, actorOf(req), tenantOf(req), req.params.channelId);
      return reply.status(204).send(null);
    });

  app.post('/v1/channels/:channelId/test', { config: { scope: 'channels:write' }, schema: { tags, summary: 'Run the live connection test now and store the result as health', params: P, response: { 200: Channel, ...errorResponses } } },
    async (req) => checkChannelHealth(ctx, tenantOf(req), req.params.channelId));
}
