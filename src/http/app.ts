import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import cookie from '@fastify/cookie';
import { AjvCompiler } from '@fastify/ajv-compiler';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../app/context.js';
import { AppError } from '../core/errors.js';
import type { TenantId } from '../db/db.js';
import { authenticate, checkCsrf, type Principal } from '../identity/authenticate.js';
import type { Scope } from '../identity/scopes.js';
import { classifyAndLog, PROBLEM_CONTENT_TYPE, ProblemSchema, sendProblem } from './problem.js';
import { ERROR_CODES } from '../core/errors.js';
import { registerRoutes } from './routes.js';
import { ApiRateLimiter } from './rate-limit.js';
import { newRequestId, RawRoutes } from './raw-routes.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call: a tenant credential, a superadmin credential, anyone. Default: tenant. */
    auth?: 'tenant' | 'admin' | 'public';
    /** Scope a tenant credential must hold. */
    scope?: Scope;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** Routes Node's server answers before Fastify sees the request (decision 036). */
    rawRoutes: RawRoutes;
  }
}

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** The tenant of an authenticated tenant-route request (set by the auth hook, never from input). */
export function tenantOf(req: FastifyRequest): TenantId {
  const p = req.principal;
  if (!p || p.kind === 'superadmin') throw new AppError('unauthenticated');
  return p.tenantId;
}

/** The scopes of an authenticated tenant-route request's credential. */
export function scopesOf(req: FastifyRequest): ReadonlySet<Scope> {
  const p = req.principal;
  if (!p || p.kind === 'superadmin') throw new AppError('unauthenticated');
  return p.scopes;
}

/**
 * The OpenAPI document says who may call each operation, from the route's own guard (the
 * `onRequest` hook below enforces the same `auth` and `scope`): public routes need nothing, admin
 * routes keep the security they declare, tenant routes take a tenant credential and name their scope
 * (`x-required-scope`, and a line in the description).
 */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

function documentAccess<S>(schema: S, config: unknown): S {
  if (!schema || typeof schema !== 'object') return schema;
  const { auth, scope } = (config ?? {}) as { auth?: string; scope?: string };
  const s = { ...(schema as Record<string, unknown>) };
  if (auth === 'public') s.security = [];
  else if (auth === 'admin') s.security ??= [{ adminKey: [] }, { session: [] }];
  else {
    s.security ??= [{ apiKey: [] }, { apiKeyHeader: [] }, { session: [] }];
    if (scope) {
      s['x-required-scope'] = scope;
      s.description = [s.description, `Requires the \`${scope}\` scope.`].filter(Boolean).join('\n\n');
    }
  }
  return s as S;
}

/**
 * A stable operationId from the method and path, for client generators: `GET /v1/conversations/:id`
 * → `getConversationsById` (the version segment left out; method + path is unique, so is this).
 */
function operationIdOf(method: string, url: string): string {
  const words = url.split('/').filter((seg) => seg && seg !== 'v1').map((seg) => (seg.startsWith(':') ? `by-${seg.slice(1)}` : seg));
  return [method.toLowerCase(), ...words.flatMap((w) => w.split(/[-_.]/))].filter(Boolean)
    .map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
}

function withOperationId<S>(schema: S, method: string | string[], url: string): S {
  if (!schema || typeof schema !== 'object') return schema;
  const m = Array.isArray(method) ? method[0]! : method;
  return { operationId: operationIdOf(m, url), ...(schema as Record<string, unknown>) } as S;
}

type OpenApiDoc = { paths?: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>> };
/** Error answers are sent as `application/problem+json` (src/http/problem.ts); the document says so. */
function problemContentType(doc: OpenApiDoc): OpenApiDoc {
  for (const ops of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(ops)) {
      for (const [status, res] of Object.entries(op?.responses ?? {})) {
        const json = res?.content?.['application/json'];
        if (Number(status) >= 400 && json && res.content) {
          delete res.content['application/json'];
          res.content[PROBLEM_CONTENT_TYPE] = json;
        }
      }
    }
  }
  return doc;
}

const ajvFactory = AjvCompiler();
/**
 * Query strings, path parameters and headers are text, so their schemas coerce (`?limit=20` is a
 * number, `?x=a` an array of one). A JSON body already carries its types: there `"true"` is not a
 * boolean nor `5` a string — coercion would accept what the schema says is wrong (decision 048).
 */
const strictBodies: ReturnType<typeof AjvCompiler> = (externalSchemas, options) => {
  const coercing = ajvFactory(externalSchemas, options);
  const strict = ajvFactory(externalSchemas, { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } } as typeof options);
  return (route) => (route.httpPart === 'body' ? strict(route) : coercing(route));
};

/**
 * Builds the HTTP app without listening, so tests drive it with `inject()` and the CLI decides
 * where it listens.
 */
export async function buildApp(ctx: AppContext): Promise<App> {
  const rawRoutes = new RawRoutes(ctx.config.bodyLimitBytes, ctx.logger);
  const app = Fastify({
    serverFactory: rawRoutes.serverFactory,
    loggerInstance: ctx.logger,
    bodyLimit: ctx.config.bodyLimitBytes,
    // A client sending its request slowly or never finishing it (a partial body) must not hold a
    // socket for good, nor keep ingress looking busy to the overload policy (decisions 028, 031).
    requestTimeout: ctx.config.requestTimeoutSeconds * 1000,
    // X-Forwarded-For is believed only from proxies (TRUST_PROXY, default: loopback and private
    // networks): from anyone, a client could name any address for the audit log and the per-address
    // sign-in limit.
    trustProxy: ctx.config.trustProxy,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: true } },
    schemaController: { compilersFactory: { buildValidator: strictBodies } },
    requestIdHeader: 'x-request-id',
    genReqId: newRequestId,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.decorateRequest('principal', null);
  app.decorate('rawRoutes', rawRoutes);
  // JSON only: a text/plain body is a 415, as documented, not a string that then fails validation.
  app.removeContentTypeParser('text/plain');
  // Many clients send `Content-Type: application/json` with every POST: an empty body is nothing on a
  // route that takes no body (a channel's test), no fields where every field is optional
  // (rotate-secret), and still malformed JSON where one is required.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '') {
      const schema = req.routeOptions.schema?.body as { required?: unknown[] } | undefined;
      if (!schema) return done(null, undefined);
      // A body whose every field is optional (rotate-secret's): empty means none given.
      if (!schema.required?.length) return done(null, {});
    }
    return json(req, text, done);
  });
  await app.register(cookie);
  app.addSchema(ProblemSchema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchboard API',
        version: '0.1.0',
        description:
          'Multi-tenant WhatsApp gateway. Authenticate with `Authorization: Bearer <API key>` (or `X-API-Key`), a JWT with a `tenant_id` claim, or a dashboard session. Errors are RFC 9457 problem documents; see the `code` member.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'Tenant API key `sb_live_…` / `sb_test_…`, or a JWT' },
          adminKey: { type: 'http', scheme: 'bearer', description: 'Superadmin key `sb_admin_…`' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same tenant API key, in a header of its own' },
          session: { type: 'apiKey', in: 'cookie', name: 'sb_session', description: 'Dashboard session (POST /auth/login); writes also send X-CSRF-Token' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => ({ schema: withOperationId(documentAccess(schema, route.config), route.method, url), url }),
    transformObject: (doc) => problemContentType(('openapiObject' in doc ? doc.openapiObject : {}) as OpenApiDoc) as Record<string, unknown>,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const limiter = new ApiRateLimiter();
  app.addHook('onRequest', async (req) => {
    // Default deny: a route that does not say otherwise needs a tenant credential. The interactive
    // docs (registered by @fastify/swagger-ui, which sets no config) are public.
    const url = req.routeOptions.url;
    const mode = req.routeOptions.config?.auth ?? (!url || url === '/docs' || url.startsWith('/docs/') ? 'public' : 'tenant');
    if (mode === 'public') return;
    const principal = await authenticate(ctx, req);
    if (!principal) throw new AppError('unauthenticated', 'send an API key as `Authorization: Bearer <key>`');
    req.principal = principal;
    if (mode === 'admin') {
      if (principal.kind !== 'superadmin') throw new AppError('forbidden', 'this endpoint is for superadmins');
    } else {
      if (principal.kind === 'superadmin') throw new AppError('forbidden', 'use a tenant credential for tenant endpoints');
      const scope = req.routeOptions.config?.scope;
      if (scope && !principal.scopes.has(scope)) {
        throw new AppError('insufficient_scope', `this operation needs the ${scope} scope`, { details: { required_scope: scope } });
      }
      await limiter.check(ctx, principal.tenantId);
    }
    checkCsrf(principal, req);
  });

  app.setErrorHandler((err, req, reply) => sendProblem(reply, classifyAndLog(err, req.log), req));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    // The path exists under other methods: 405 with Allow, not a 404 that says the endpoint is not there.
    const allow = METHODS.filter((method) => method !== req.method && app.findRoute({ method, url: path }));
    if (allow.length > 0) {
      void reply.header('allow', allow.join(', '));
      return sendProblem(reply, new AppError('method_not_allowed', `${path} answers ${allow.join(', ')}, not ${req.method}`, { details: { allow } }), req);
    }
    return sendProblem(reply, new AppError('route_not_found', `no route for ${req.method} ${path}`), req);
  });

  app.get('/healthz', { config: { auth: 'public' }, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { auth: 'public' }, schema: { hide: true } }, async (_req, reply) => {
    try {
      await ctx.db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
      return { status: 'ready' };
    } catch {
      return reply.status(503).send({ status: 'unavailable', reason: 'database' });
    }
  });
  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());
  app.get('/errors', { config: { auth: 'public' }, schema: { hide: true } }, async () => ERROR_CODES);

  await registerRoutes(app, ctx);
  return app;
}
