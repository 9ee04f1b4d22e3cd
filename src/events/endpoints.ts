import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { audit, type Actor } from '../audit/audit.js';
import { AppError, notFound } from '../core/errors.js';
import { checkEgressUnder } from '../core/egress.js';
import { newId } from '../core/ids.js';
import { withTenant, type TenantId, type Tx } from '../db/db.js';
import { newSecret } from './signing.js';
import type { WebhookEndpointsTable } from './schema.js';
import './schema.js';

/** How long the previous secret keeps signing after a rotation, so receivers can switch over. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;
const MAX_ENDPOINTS = 20;

/** A column as selected (distributes over `| null`, so `Timestamp | null` reads as `Date | null`). */
type Selected<T> = T extends { __select__: infer S } ? S : T;
type Row = { [K in keyof WebhookEndpointsTable]: Selected<WebhookEndpointsTable[K]> };
const iso = (d: unknown) => (d ? new Date(d as string).toISOString() : null);

export function endpointView(r: Row) {
  return {
    id: r.id, url: r.url, description: r.description, event_types: r.event_types, status: r.status as 'enabled' | 'disabled',
    disabled_reason: r.disabled_reason, failing_since: iso(r.failing_since), created_at: iso(r.created_at)!, updated_at: iso(r.updated_at)!,
  };
}

const aad = (tenantId: string, id: string) => ({ tenantId, recordId: id });
export const seal = (ctx: AppContext, tenantId: string, id: string, secret: string) => ctx.vault.encrypt(secret, aad(tenantId, id));

type Secrets = { tenant_id: string; id: string; secret_enc: string; previous_secret_enc: string | null; previous_expires_at: Date | null };

/** The previous secret still signs (the overlap after a rotation has not ended). */
const previousSigns = (r: Secrets, now: Date): r is Secrets & { previous_secret_enc: string } =>
  r.previous_secret_enc !== null && r.previous_expires_at !== null && r.previous_expires_at > now;

/** Secrets that sign a delivery now: the current one, plus the previous one during the overlap. */
export function signingSecrets(ctx: AppContext, r: Secrets, now: Date): string[] {
  const out = [ctx.vault.decrypt(r.secret_enc, aad(r.tenant_id, r.id))];
  if (previousSigns(r, now)) out.push(ctx.vault.decrypt(r.previous_secret_enc, aad(r.tenant_id, r.id)));
  return out;
}

/**
 * `lock`: held until the (short) transaction ends, for calls that decide from the row what to write
 * to it — two rotations at once both passed the overlap check and one returned secret never signed
 * (review of 2026-12-01). FOR NO KEY UPDATE, the lock the row's own UPDATE takes: FOR UPDATE would
 * also hold up every event the tenant emits meanwhile (a delivery row's foreign key takes KEY SHARE).
 */
export async function findEndpoint(tx: Tx, id: string, lock = false): Promise<Row> {
  const q = tx.selectFrom('webhook_endpoints').selectAll().where('id', '=', id);
  const r = await (lock ? q.forNoKeyUpdate() : q).executeTakeFirst();
  if (!r) throw notFound('webhook endpoint');
  return r as Row;
}

export interface EndpointInput {
  url: string;
  event_types: string[];
  description?: string | undefined;
}

export async function createEndpoint(ctx: AppContext, actor: Actor, tenantId: TenantId, p: EndpointInput) {
  await checkEgressUnder(ctx.config, p.url, 'url');
  const id = newId('whe');
  const secret = newSecret();
  return withTenant(ctx.db, tenantId, async (tx) => {
    // One create at a time per tenant, so concurrent ones cannot all pass the count (as channels do).
    await sql`select pg_advisory_xact_lock(hashtextextended(${`webhook_endpoints:${tenantId}`}, 0))`.execute(tx);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from webhook_endpoints`.execute(tx);
    if (rows[0]!.n >= MAX_ENDPOINTS) throw new AppError('plan_limit_reached', `at most ${MAX_ENDPOINTS} webhook endpoints per tenant`);
    await tx.insertInto('webhook_endpoints').values({ tenant_id: tenantId, id, url: p.url, description: p.description ?? null, event_types: p.event_types, secret_enc: seal(ctx, tenantId, id, secret) }).execute();
    await audit(tx, { tenantId, actor, action: 'webhook_endpoint.created', targetType: 'webhook_endpoint', targetId: id, details: { url: p.url, event_types: p.event_types } });
    return { ...endpointView(await findEndpoint(tx, id)), secret };
  });
}

export async function updateEndpoint(ctx: AppContext, actor: Actor, tenantId: TenantId, id: string, p: Partial<Omit<EndpointInput, 'description'>> & { description?: string | null; status?: 'enabled' | 'disabled' }) {
  if (p.url) await checkEgressUnder(ctx.config, p.url, 'url');
  return withTenant(ctx.db, tenantId, async (tx) => {
    const cur = await findEndpoint(tx, id, true);
    const statusChange = p.status !== undefined && p.status !== cur.status;
    await tx.updateTable('webhook_endpoints').set({
      ...(p.url ? { url: p.url } : {}),
      ...(p.event_types ? { event_types: p.event_types } : {}),
      ...(p.description !== undefined ? { description: p.description } : {}),
      // Re-enabling clears the failure clock (the tenant says the endpoint is fixed); disabling an
      // endpoint already disabled keeps its reason (`gone`, `failing`): the cause stays visible.
      ...(statusChange ? { status: p.status, disabled_reason: p.status === 'disabled' ? 'manual' : null, failing_since: null } : {}),
      // A new address starts a new failure clock: the old one's failures say nothing about it.
      ...(p.url && p.url !== cur.url ? { failing_since: null } : {}),
      updated_at: new Date(),
    }).where('id', '=', id).execute();
    await audit(tx, { tenantId, actor, action: 'webhook_endpoint.updated', targetType: 'webhook_endpoint', targetId: id, details: { ...p } });
    return endpointView(await findEndpoint(tx, id));
  });
}

export const deleteEndpoint = (ctx: AppContext, actor: Actor, tenantId: TenantId, id: string) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    await findEndpoint(tx, id);
    await tx.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
    await audit(tx, { tenantId, actor, action: 'webhook_endpoint.deleted', targetType: 'webhook_endpoint', targetId: id });
  });

/**
 * A new signing secret; the current one keeps signing (a second signature) for `overlapMs` (24 h by
 * default; 0 ends it now, for a leaked secret). One previous secret is kept: a rotation while an
 * earlier one's overlap still runs would end that secret before the time the earlier answer gave,
 * so it is refused (409) unless it ends the old secrets now (`overlapMs` 0).
 */
export const rotateSecret = (ctx: AppContext, actor: Actor, tenantId: TenantId, id: string, overlapMs = ROTATION_OVERLAP_MS) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    const r = await findEndpoint(tx, id, true);
    const now = ctx.clock.now();
    if (overlapMs > 0 && previousSigns(r, now)) {
      throw new AppError('conflict', `the secret before the current one signs until ${r.previous_expires_at!.toISOString()}; rotate again after that, or with previous_expires_in_seconds 0 to end every older secret now`);
    }
    const secret = newSecret();
    const expires = new Date(now.getTime() + overlapMs);
    await tx.updateTable('webhook_endpoints').set({
      secret_enc: seal(ctx, tenantId, id, secret),
      previous_secret_enc: overlapMs > 0 ? r.secret_enc : null,
      previous_expires_at: overlapMs > 0 ? expires : null,
      updated_at: new Date(),
    }).where('id', '=', id).execute();
    await audit(tx, { tenantId, actor, action: 'webhook_endpoint.secret_rotated', targetType: 'webhook_endpoint', targetId: id, details: { previous_expires_at: expires.toISOString() } });
    return { secret, previous_secret_expires_at: expires.toISOString() };
  });

export const getSecret = (ctx: AppContext, tenantId: TenantId, id: string) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    const r = await findEndpoint(tx, id);
    return { secret: ctx.vault.decrypt(r.secret_enc, aad(tenantId, id)) };
  });
