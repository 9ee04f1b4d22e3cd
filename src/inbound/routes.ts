import { Type } from '@sinclair/typebox';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { App } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { AppError } from '../core/errors.js';
import { verifyChallenge } from '../providers/cloud-api/webhook.js';
import type { RawWebhook } from '../providers/types.js';
import { openCredentials } from '../channels/service.js';
import { sql } from 'kysely';
import { RouteCache, type RoutedChannel } from './routing.js';
import { cloudApiShare, keptHeaders, recordReject, type InboxWrite, type InboxWriter } from './inbox.js';
import { sendRawJson, sendRawProblem } from '../http/raw-routes.js';
import type { InboxItem } from './normalise.js';
import { inboundPipeline, type InlineSink } from './pipeline.js';

const Ack = Type.Object({ ok: Type.Boolean(), accepted: Type.Integer({ description: 'Inbox rows stored (one per routed line)' }) });
const Problem = Type.Ref('Problem');
const responses = { 200: Ack, 400: Problem, 401: Problem, 404: Problem, 413: Problem, 503: Problem };
/** Providers whose URL token is their only authentication (no body signature). */
const TOKEN_ONLY = new Set(['ultramsg']);
const TOKEN_PROVIDERS = ['waha', 'ultramsg', 'sandbox'] as const;

const bodyOf = (req: FastifyRequest): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

function rawOf(req: IncomingMessage, body: Buffer): RawWebhook {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return { headers, body, query: q < 0 ? {} : Object.fromEntries(new URLSearchParams(url.slice(q + 1))) };
}

const isJson = (b: Buffer): boolean => {
  try {
    JSON.parse(b.toString('utf8'));
    return true;
  } catch {
    return false;
  }
};

/**
 * Webhook ingress: route → verify → commit to the inbox → 200 → process. Registered in its own
 * encapsulated scope so the raw bytes are kept for every content type (signatures are over bytes,
 * and a malformed JSON body must reach the handler instead of failing in a parser).
 */
export function inboundRoutes(app: App, ctx: AppContext): void {
  const routes = new RouteCache(ctx);
  const { inbox, inline, ingress } = inboundPipeline(ctx);
  app.addHook('onClose', async () => {
    await inline.close();
    await routes.close();
  });

  /** Route → verify → commit to the inbox → 200, then processing (the Fastify route and the raw route). */
  const cloudApi = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    receiveCloudApi(ctx, routes, inbox, rawOf(req, body)).then(
      (items) => ack(res, inline, items),
      (err) => sendRawProblem(res, err, req, ctx.logger),
    );
  };
  // 'close' ends every request, answered or aborted (onResponse misses aborted ones, and each miss
  // would have counted as a request in flight for good).
  const gauge = (_req: IncomingMessage, res: ServerResponse) => {
    ingress.enter();
    res.once('close', () => ingress.leave());
  };
  app.rawRoutes.add('POST', '/webhooks/cloud-api', cloudApi, gauge);

  app.register(async (scope) => {
    scope.addHook('onRequest', async (req, reply) => gauge(req.raw, reply.raw));
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const tags = ['webhooks'];

    scope.get('/webhooks/cloud-api', {
      config: { auth: 'public' },
      schema: { tags, summary: 'Meta verification handshake (hub.challenge)', querystring: Type.Object({ 'hub.mode': Type.Optional(Type.String()), 'hub.verify_token': Type.Optional(Type.String()), 'hub.challenge': Type.Optional(Type.String()) }, { additionalProperties: true }),
        response: { 200: Type.String({ description: 'hub.challenge, as text/plain' }), 403: Problem } },
    }, async (req, reply) => {
      const { rows } = await sql<{ tenant_id: string; id: string; secrets_enc: string; settings: unknown }>`select * from sb_cloud_api_verify_candidates()`.execute(ctx.db);
      const tokens = rows.map((r) => String(openCredentials(ctx, r).verifyToken ?? ''));
      const challenge = verifyChallenge(req.query as Record<string, string | undefined>, tokens);
      if (challenge === null) throw new AppError('forbidden', 'verify token does not match any Cloud API channel');
      return reply.type('text/plain').send(challenge);
    });

    scope.post('/webhooks/cloud-api', {
      config: { auth: 'public' },
      schema: { tags, summary: 'Cloud API webhooks for every line of every Meta app', response: responses },
    }, (req, reply) => {
      // The answer is written by the handler the raw route shares (decision 036).
      reply.hijack();
      cloudApi(req.raw, reply.raw, bodyOf(req));
    });
    for (const provider of TOKEN_PROVIDERS) {
      scope.post(`/webhooks/${provider}/:token`, {
        config: { auth: 'public' },
        schema: { tags, summary: `${provider} webhooks for one channel (URL carries the channel's unguessable token)`, params: Type.Object({ token: Type.String({ maxLength: 200 }) }), response: responses },
      }, async (req, reply) => {
        const raw = rawOf(req.raw, bodyOf(req));
        const token = (req.params as { token: string }).token;
        const r = await routes.byToken(provider, token);
        // The token is secret: log only that it did not match, never the token itself.
        if (!r) {
          await recordReject(ctx, provider, 'unroutable', [], raw.body);
          throw new AppError('webhook_unroutable', 'unknown webhook URL');
        }
        if (!r.active) {
          await recordReject(ctx, provider, 'disabled', [r.externalId], raw.body);
          throw new AppError('webhook_unroutable', 'the channel is disabled');
        }
        const def = ctx.providers.definition(provider);
        const tokenOnlyMalformed = TOKEN_ONLY.has(provider) && !isJson(raw.body);
        if (!tokenOnlyMalformed && !def.webhook.verify(raw, r.credentials)) {
          await recordReject(ctx, provider, 'bad_signature', [r.externalId], raw.body);
          throw new AppError('webhook_signature_invalid', 'the webhook signature does not match');
        }
        const w = { tenantId: r.tenantId, channelId: r.channelId, externalId: r.externalId, provider, headers: keptHeaders(raw), split: false, body: raw.body };
        const id = await putRouted(inbox, w, () => routes.forget(provider, { token }));
        if (id === null) {
          await recordReject(ctx, provider, 'unroutable', [r.externalId], raw.body);
          throw new AppError('webhook_unroutable', 'unknown webhook URL');
        }
        const items = [{ ...w, id }];
        reply.hijack();
        ack(reply.raw, inline, items);
      });
    }
  });
}

/** The most distinct `metadata.phone_number_id` values one Cloud API POST may name. */
export const MAX_LINES_PER_POST = 100;

/**
 * A Cloud API POST: the lines it names are routed, each routed line's signature is checked with its
 * channel's app secret, and each accepted line gets its inbox row (its share of the body when the
 * POST names several lines). Throws the problem to answer when no line is accepted.
 */
async function receiveCloudApi(ctx: AppContext, routes: RouteCache, inbox: InboxWriter, raw: RawWebhook): Promise<InboxItem[]> {
  const def = ctx.providers.definition('cloud-api');
  const keys = def.webhook.routingKeys(raw);
  if (keys.length === 0) {
    const reason = isJson(raw.body) ? 'unroutable' : 'malformed';
    await recordReject(ctx, 'cloud-api', reason, [], raw.body);
    throw reason === 'malformed' ? new AppError('malformed_json', 'body is not a routable JSON webhook') : new AppError('webhook_unroutable', 'no line id in the payload');
  }
  // Routing runs before any signature can be checked (the secret belongs to the line), so a POST
  // naming thousands of made-up lines would cost as many lookups and starve real webhooks. Meta's
  // name a handful; more than MAX_LINES_PER_POST is refused unread.
  if (keys.length > MAX_LINES_PER_POST) {
    await recordReject(ctx, 'cloud-api', 'malformed', keys.slice(0, 20), raw.body);
    throw new AppError('validation_failed', `a webhook naming more than ${MAX_LINES_PER_POST} line ids is not one Meta sends`);
  }
  const found = await Promise.all(keys.map((k) => routes.byExternalId('cloud-api', k)));
  const accepted: RoutedChannel[] = [];
  const refused = { unroutable: [] as string[], disabled: [] as string[], bad_signature: [] as string[] };
  found.forEach((r, i) => {
    if (!r) refused.unroutable.push(keys[i]!);
    else if (!r.active) refused.disabled.push(keys[i]!);
    else if (!def.webhook.verify(raw, r.credentials)) refused.bad_signature.push(keys[i]!);
    else accepted.push(r);
  });
  for (const [reason, ks] of Object.entries(refused)) {
    if (ks.length > 0) await recordReject(ctx, 'cloud-api', reason as 'unroutable', ks, raw.body);
  }
  if (accepted.length === 0) {
    if (refused.bad_signature.length > 0) throw new AppError('webhook_signature_invalid', 'X-Hub-Signature-256 does not match');
    throw new AppError('webhook_unroutable', 'no active channel owns these lines', { details: { routing_keys: keys } });
  }
  const split = keys.length > 1;
  const json = split ? JSON.parse(raw.body.toString('utf8')) : undefined;
  const headers = keptHeaders(raw);
  const written = await Promise.all(accepted.map(async (r) => {
    const w = { tenantId: r.tenantId, channelId: r.channelId, externalId: r.externalId, provider: 'cloud-api', headers, split, body: split ? cloudApiShare(json, r.externalId) : raw.body };
    const id = await putRouted(inbox, w, () => routes.forget('cloud-api', { externalId: r.externalId }));
    return id === null ? null : { ...w, id };
  }));
  const gone = accepted.filter((_, i) => written[i] === null).map((r) => r.externalId);
  if (gone.length > 0) await recordReject(ctx, 'cloud-api', 'unroutable', gone, raw.body);
  const items = written.filter((w) => w !== null);
  if (items.length === 0) throw new AppError('webhook_unroutable', 'no active channel owns these lines', { details: { routing_keys: keys } });
  return items;
}

/**
 * Writes a routed webhook's inbox row; null when its channel was deleted after the route was cached
 * (the row's channel foreign key refuses it): that line is unroutable now, not a server error.
 */
async function putRouted(inbox: InboxWriter, w: InboxWrite, forget: () => void): Promise<string | null> {
  try {
    return await inbox.put(w);
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code !== '23503') throw err;
    forget();
    return null;
  }
}

function ack(res: ServerResponse, inline: InlineSink, rows: InboxItem[]): void {
  // Processing starts once the answer is on its way: the inbox row is already committed, so a crash
  // from here on loses nothing (the worker picks the row up), and the provider is not kept waiting.
  res.once('finish', () => inline.kick(rows));
  sendRawJson(res, 200, { ok: true, accepted: rows.length });
}
