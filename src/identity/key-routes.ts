import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../core/errors.js';
import type { App } from '../http/app.js';
import { scopesOf, tenantOf } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { actorOf } from '../audit/audit.js';
import { errorResponses, IdParam, Name } from '../http/schemas.js';
import { decodeCursor, Page, PageQuery, toPage } from '../http/pagination.js';
import { grantableScopes, SCOPES } from './scopes.js';
import { createApiKey, listApiKeys, getApiKey, revokeApiKey, keyView } from './key-service.js';

export const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  hint: Type.String({ description: 'first characters of the key, to tell keys apart' }),
  mode: Type.Union([Type.Literal('live'), Type.Literal('test')]),
  scopes: Type.Array(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
// One enum, not a union of literals: a wrong scope is one clear error naming the allowed values, not
// one "must be equal to constant" per scope.
const Scope = Type.Unsafe<'*' | (typeof SCOPES)[number]>(Type.String({ enum: ['*', ...SCOPES] }));
export const CreateKeyBody = Type.Object(
  {
    name: Name,
    scopes: Type.Optional(Type.Array(Scope, { minItems: 1, maxItems: SCOPES.length + 1, uniqueItems: true, description: "at most the creating credential's own scopes (`*` = all); default: those scopes" })),
    mode: Type.Optional(Type.Union([Type.Literal('live'), Type.Literal('test')])),
    expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'When the key stops working (default: never; a key made by a key that expires: no later than that key, by default the same time)' })),
  },
  { additionalProperties: false },
);

/**
 * A key made by a key that expires expires no later (decision 041, amended): a short-lived key handed
 * to a script could otherwise mint one that never expires (review of 2026-12-01). Without
 * `expires_at` the new key takes its creator's expiry; a later one is refused. Keys made from a
 * dashboard session or a JWT are not bounded by the session's or token's life.
 */
function boundedExpiry(principal: FastifyRequest['principal'], asked: string | undefined): { expires_at?: string } {
  if (principal?.kind !== 'api_key' || principal.expiresAt === null) return asked === undefined ? {} : { expires_at: asked };
  const limit = principal.expiresAt;
  if (asked === undefined) return { expires_at: limit.toISOString() };
  if (Date.parse(asked) > limit.getTime()) {
    throw new AppError('validation_failed', `a key can expire no later than the key that creates it (${limit.toISOString()})`, { details: { errors: [{ path: '/expires_at', message: `at most ${limit.toISOString()}` }] } });
  }
  return { expires_at: asked };
}

export function apiKeyRoutes(app: App, ctx: AppContext): void {
  const tags = ['api-keys'];
  app.post('/v1/api-keys', {
    config: { scope: 'keys:write' },
    schema: { tags, summary: 'Create an API key (the key is shown once, in this answer)', body: CreateKeyBody, response: { 201: Type.Intersect([ApiKey, Type.Object({ key: Type.String() })]), ...errorResponses } },
  }, async (req, reply) => {
    const scopes = grantableScopes(scopesOf(req), req.body.scopes);
    return reply.status(201).send(await createApiKey(ctx, actorOf(req), tenantOf(req), { ...req.body, scopes, ...boundedExpiry(req.principal, req.body.expires_at) }));
  });

  app.get('/v1/api-keys', { config: { scope: 'keys:read' }, schema: { tags, summary: 'List API keys', querystring: Type.Object(PageQuery), response: { 200: Page(ApiKey), ...errorResponses } } },
    async (req) => {
      const limit = req.query.limit ?? 50;
      return toPage(await listApiKeys(ctx, tenantOf(req), limit, decodeCursor(req.query.cursor, 'key')), limit, keyView);
    });

  app.get('/v1/api-keys/:keyId', { config: { scope: 'keys:read' }, schema: { tags, summary: 'Get an API key', params: IdParam('keyId', 'key'), response: { 200: ApiKey, ...errorResponses } } },
    async (req) => keyView(await getApiKey(ctx, tenantOf(req), req.params.keyId)));

  app.delete('/v1/api-keys/:keyId', { config: { scope: 'keys:write' }, schema: { tags, summary: 'Revoke an API key', params: IdParam('keyId', 'key'), response: { 200: ApiKey, ...errorResponses } } },
    async (req) => keyView(await revokeApiKey(ctx, actorOf(req), tenantOf(req), req.params.keyId)));
}
