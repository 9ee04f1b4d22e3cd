import { Type } from '@sinclair/typebox';
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
    expires_at: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

export function apiKeyRoutes(app: App, ctx: AppContext): void {
  const tags = ['api-keys'];
  app.post('/v1/api-keys', {
    config: { scope: 'keys:write' },
    schema: { tags, summary: 'Create an API key (the key is shown once, in this answer)', body: CreateKeyBody, response: { 201: Type.Intersect([ApiKey, Type.Object({ key: Type.String() })]), ...errorResponses } },
  }, async (req, reply) => {
    const scopes = grantableScopes(scopesOf(req), req.body.scopes);
    return reply.status(201).send(await createApiKey(ctx, actorOf(req), tenantOf(req), { ...req.body, scopes }));
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
