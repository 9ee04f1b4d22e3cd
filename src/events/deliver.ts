import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { audit } from '../audit/audit.js';
import { parseRetryAfter } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { asTenantId, withTenant, type Tx } from '../db/db.js';
import { createHttpTransport, type HttpTransport } from '../core/http-transport.js';
import type { Resolve } from '../core/egress.js';
import { emitEvent } from './emit.js';
import { signingSecrets } from './endpoints.js';
import { DISABLE_AFTER_MS, nextDelayMs, RUN_GAP_MS } from './retry.js';
import { signedHeaders } from './signing.js';
import { settlesWithin } from '../core/runtime.js';
import './schema.js';

/**
 * Tenant webhook delivery on durable rows (event_deliveries), claimed with SKIP LOCKED under a
 * 60 s lease (> the 10 s request timeout), so a crashed worker's deliveries come back within a
 * minute. Isolation: at most PER_TENANT requests of one tenant in flight per process and claims are
 * capped per tenant, so a slow endpoint holds at most 4 of 128 slots and other tenants keep flowing;
 * an endpoint whose last attempt failed is probed one delivery at a time from a budget of its own
 * (PROBES, at most PER_TENANT a tenant), so dead endpoints hold none of the main slots: neither their
 * own tenant's healthy endpoints nor other tenants wait behind them (decision 052). The inbox loop is
 * separate and never waits on deliveries.
 * Requests go through the context's delivery transport (`ctx.webhookRequest`, made by
 * `createDeliveryTransport`): the egress policy is checked on the address actually connected to,
 * every attempt (decision 043); redirects are not followed (a 3xx is a failed attempt).
 */
/**
 * Requests in flight a process (main lane). A request waiting on a slow receiver costs a socket and
 * a few kilobytes, not CPU: 32 let eight tenants with slow-but-answering endpoints hold every slot
 * (decision 052); 128 takes thirty-two.
 */
const CONCURRENCY = 128;
const PROBES = 32;
const PER_TENANT = 4;
const TIMEOUT_MS = 10_000;
const LEASE_MS = 60_000;
const SYSTEM = { type: 'system', id: null, ip: null } as const;

/**
 * The HTTP transport of one AppContext's deliveries, made and closed by the composition root
 * (src/app/root.ts) like the provider transport, so its keep-alive sockets were checked under that
 * context's egress policy and are destroyed with it. Idle sockets close after 4 s, under the 5 s
 * most servers keep them (Node's default), so a reused socket is rarely one the receiver is
 * closing. Answers are not read: a delivery resolves on the response head, and a body past 64 KB
 * has its connection closed (`maxBodyBytes: 0`).
 */
export function createDeliveryTransport(allowPrivate: boolean, resolve?: Resolve): HttpTransport {
  return createHttpTransport({ allowPrivate, maxSockets: CONCURRENCY + PROBES, timeout: 4_000, maxBodyBytes: 0, ...(resolve ? { resolve } : {}) });
}

interface Pool {
  /** Delivery id → its attempt, settled when recorded. */
  inFlight: Map<string, { tenantId: string; done: Promise<void> }>;
  /** Main-lane attempts in flight per tenant. */
  perTenant: Map<string, number>;
  /** Endpoint id → tenant id of each probe in flight (one an endpoint). */
  probing: Map<string, string>;
}
const pools = new WeakMap<AppContext, Pool>();
const poolOf = (ctx: AppContext): Pool => {
  let p = pools.get(ctx);
  if (!p) pools.set(ctx, (p = { inFlight: new Map(), perTenant: new Map(), probing: new Map() }));
  return p;
};

const countBy = (values: Iterable<string>): Map<string, number> => {
  const n = new Map<string, number>();
  for (const v of values) n.set(v, (n.get(v) ?? 0) + 1);
  return n;
};

/** Claims due deliveries into free slots and starts them (not awaited). Returns how many started. */
export async function deliverDue(ctx: AppContext): Promise<number> {
  const pool = poolOf(ctx);
  const free = CONCURRENCY - (pool.inFlight.size - pool.probing.size);
  const probesFree = PROBES - pool.probing.size;
  if (free <= 0 && probesFree <= 0) return 0;
  // Each tenant is offered only the room it has left in this process, and endpoints it is probing are
  // left out (migrations 036, 042).
  const probesPerTenant = countBy(pool.probing.values());
  const running = [...pool.perTenant].filter(([, n]) => n > 0);
  const { rows } = await sql<{ tenant_id: string; id: string; endpoint_id: string; probe: boolean }>`
    select * from sb_event_delivery_claim_lanes(${Math.max(0, free)}, ${PER_TENANT}, ${LEASE_MS},
      ${running.map(([t]) => t)}::text[], ${running.map(([, n]) => n)}::int[],
      ${Math.max(0, probesFree)}, ${[...pool.probing.keys()]}::text[], ${[...probesPerTenant.keys()]}::text[], ${[...probesPerTenant.values()]}::int[])`.execute(ctx.db);
  let started = 0;
  for (const r of rows) {
    const busy = r.probe
      ? pool.probing.has(r.endpoint_id) || (probesPerTenant.get(r.tenant_id) ?? 0) >= PER_TENANT
      : (pool.perTenant.get(r.tenant_id) ?? 0) >= PER_TENANT;
    if (busy) {
      // Hand it back at once: this tenant (or endpoint) already uses its share of this process (only
      // when deliverDue calls overlap; the claim offers each tenant just the room it has).
      await withTenant(ctx.db, asTenantId(r.tenant_id), (tx) => tx.updateTable('event_deliveries').set({ locked_until: null }).where('id', '=', r.id).execute());
      continue;
    }
    if (r.probe) {
      pool.probing.set(r.endpoint_id, r.tenant_id);
      probesPerTenant.set(r.tenant_id, (probesPerTenant.get(r.tenant_id) ?? 0) + 1);
    } else pool.perTenant.set(r.tenant_id, (pool.perTenant.get(r.tenant_id) ?? 0) + 1);
    const done: Promise<void> = attemptDelivery(ctx, r.tenant_id, r.id)
      .catch((err: unknown) => ctx.logger.warn({ err: (err as Error)?.message, delivery_id: r.id }, 'webhook delivery attempt failed to record'))
      .finally(() => {
        pool.inFlight.delete(r.id);
        if (r.probe) pool.probing.delete(r.endpoint_id);
        else pool.perTenant.set(r.tenant_id, (pool.perTenant.get(r.tenant_id) ?? 1) - 1);
      });
    pool.inFlight.set(r.id, { tenantId: r.tenant_id, done });
    started += 1;
  }
  return started;
}

/** Resolves when this process has no delivery in flight (shutdown, tests). */
export async function deliveriesIdle(ctx: AppContext): Promise<void> {
  const pool = poolOf(ctx);
  while (pool.inFlight.size > 0) await Promise.allSettled([...pool.inFlight.values()].map((f) => f.done));
}

/**
 * Shutdown: lets the attempts in flight finish and record (each ends within its 10 s request
 * timeout), for at most `graceMs`; what is still running then is handed back (lease cleared), so
 * another process sends it at once instead of after the 60 s lease. A handed-back attempt may still
 * reach its receiver before this process exits: the receiver may see it twice, with the same
 * `webhook-id` (at least once, as always).
 */
export async function finishDeliveries(ctx: AppContext, graceMs = TIMEOUT_MS + 2_000): Promise<void> {
  const pool = poolOf(ctx);
  if (await settlesWithin(deliveriesIdle(ctx), graceMs)) return;
  const left = [...pool.inFlight];
  ctx.logger.warn({ deliveries: left.length }, 'stopping with webhook deliveries in flight: handed back');
  await Promise.all(left.map(([id, f]) =>
    withTenant(ctx.db, asTenantId(f.tenantId), (tx) => tx.updateTable('event_deliveries').set({ locked_until: null }).where('id', '=', id).where('status', '=', 'pending').execute())
      .catch((err: unknown) => ctx.logger.warn({ err: (err as Error)?.message, delivery_id: id }, 'could not hand back a webhook delivery'))));
}

export async function attemptDelivery(ctx: AppContext, tenantId: string, deliveryId: string): Promise<void> {
  const tid = asTenantId(tenantId);
  const prep = await withTenant(ctx.db, tid, async (tx) => {
    const d = await tx.selectFrom('event_deliveries').selectAll().where('id', '=', deliveryId).where('status', '=', 'pending').executeTakeFirst();
    if (!d) return null;
    const ep = await tx.selectFrom('webhook_endpoints').selectAll().where('id', '=', d.endpoint_id).executeTakeFirstOrThrow();
    if (ep.status !== 'enabled') {
      await tx.updateTable('event_deliveries').set({ status: 'failed', last_error: 'endpoint disabled', locked_until: null, updated_at: new Date() }).where('id', '=', d.id).execute();
      return null;
    }
    const ev = await tx.selectFrom('events').selectAll().where('id', '=', d.event_id).executeTakeFirstOrThrow();
    return { d, ep, ev, secrets: signingSecrets(ctx, ep, ctx.clock.now()) };
  });
  if (!prep) return;
  const { d, ep, ev, secrets } = prep;
  const body = JSON.stringify({ id: ev.id, type: ev.type, timestamp: new Date(ev.created_at).toISOString(), data: ev.data });
  const started = performance.now();
  let status: number | null = null;
  let error: string | null = null;
  let retryAfterMs: number | undefined;
  try {
    // webhook-id is the event id: the same across retries and replays, the receiver's dedupe key.
    const headers = signedHeaders(secrets, ev.id, Math.floor(ctx.clock.now().getTime() / 1000), body);
    const res = await ctx.webhookRequest({ method: 'POST', url: ep.url, headers, body, timeoutMs: TIMEOUT_MS });
    status = res.status;
    retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  } catch (err) {
    error = (err as Error)?.name === 'TimeoutError' ? `timeout after ${TIMEOUT_MS} ms` : String((err as Error)?.message ?? err).slice(0, 300);
  }
  const latency = Math.round(performance.now() - started);
  await withTenant(ctx.db, tid, (tx) => record(ctx, tx, { tenantId, d, endpointId: ep.id, status, error, latency, retryAfterMs }));
}

async function record(ctx: AppContext, tx: Tx, r: { tenantId: string; d: { id: string; attempts: number }; endpointId: string; status: number | null; error: string | null; latency: number; retryAfterMs: number | undefined }): Promise<void> {
  const now = ctx.clock.now();
  await tx.insertInto('event_delivery_attempts').values({ tenant_id: r.tenantId, id: newId('dlv'), delivery_id: r.d.id, status_code: r.status, latency_ms: r.latency, error: r.error }).execute();
  const attempts = r.d.attempts + 1;
  const base = { attempts, last_status_code: r.status, last_error: r.error, locked_until: null, updated_at: now };
  const ok = r.status !== null && r.status >= 200 && r.status < 300;
  // Only a delivery still pending takes the result: one handed back at shutdown (finishDeliveries)
  // may have been sent and recorded by another process meanwhile, and a late failure here must not
  // turn its success into `failed` or start its endpoint's failure clock.
  const pending = tx.updateTable('event_deliveries').where('id', '=', r.d.id).where('status', '=', 'pending');
  if (ok) {
    await pending.set({ ...base, status: 'succeeded' }).execute();
    await tx.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', r.endpointId).where('failing_since', 'is not', null).execute();
    return;
  }
  if (r.status === 410) {
    await pending.set({ ...base, status: 'failed' }).execute();
    await disable(tx, r.tenantId, r.endpointId, 'gone', 'the endpoint answered 410 Gone');
    return;
  }
  const delay = nextDelayMs(attempts, r.retryAfterMs);
  const taken = await (delay === null ? pending.set({ ...base, status: 'failed' }) : pending.set({ ...base, next_attempt_at: new Date(now.getTime() + delay) })).executeTakeFirst();
  if (Number(taken.numUpdatedRows) === 0) return;
  // A run of failures is continuous while its attempts come less than a day apart (the retry
  // schedule's longest wait is 12 h); after a longer silence the clock starts again (migration 053).
  const ep = await tx.updateTable('webhook_endpoints').set({
    failing_since: sql`case when failing_since is null or last_failed_at < ${new Date(now.getTime() - RUN_GAP_MS)} then ${now} else failing_since end`,
    last_failed_at: now,
  }).where('id', '=', r.endpointId).returning('failing_since').executeTakeFirst();
  if (ep?.failing_since && now.getTime() - new Date(ep.failing_since).getTime() >= DISABLE_AFTER_MS) {
    await disable(tx, r.tenantId, r.endpointId, 'failing', 'every delivery failed for 5 days');
  }
}

/**
 * Up to PER_TENANT deliveries of one endpoint are in flight at once and each may get the 410 (or
 * cross the 5-day mark): only the one that flips the row from enabled audits and emits.
 */
async function disable(tx: Tx, tenantId: string, endpointId: string, reason: 'gone' | 'failing', detail: string): Promise<void> {
  const flipped = await tx.updateTable('webhook_endpoints').set({ status: 'disabled', disabled_reason: reason, updated_at: new Date() }).where('id', '=', endpointId).where('status', '=', 'enabled').returning('id').executeTakeFirst();
  if (!flipped) return;
  await audit(tx, { tenantId, actor: SYSTEM, action: 'webhook_endpoint.disabled', targetType: 'webhook_endpoint', targetId: endpointId, details: { reason, detail } });
  await emitEvent(tx, { tenantId, type: 'webhook_endpoint.disabled', data: { endpoint_id: endpointId, reason, detail } });
}
