import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { audit, type Actor } from '../audit/audit.js';
import { AppError, notFound } from '../core/errors.js';
import { idFloor, newId } from '../core/ids.js';
import { withTenant, type TenantId, type Tx } from '../db/db.js';
import { findEndpoint } from './endpoints.js';
import './schema.js';

/**
 * A disabled endpoint gets no attempts, so a replay to it would only fail unseen: refused. Replays
 * of one endpoint run one after another, each seeing what the last one queued (four at once had
 * queued every failed event four times, review of 2026-12-01) — under an advisory lock, not the
 * endpoint's row: a replay of 10,000 events takes a while, and the deliveries' claim (every tenant's)
 * writes that row.
 */
async function enabledEndpoint(tx: Tx, endpointId: string) {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`replay:${endpointId}`}, 0))`.execute(tx);
  const ep = await findEndpoint(tx, endpointId);
  if (ep.status !== 'enabled') throw new AppError('conflict', 'the endpoint is disabled: enable it (PATCH status "enabled") before replaying');
  return ep;
}

/** A replay is a fresh delivery of the same event (same webhook-id, so receivers can dedupe). */
export const replayDelivery = (ctx: AppContext, actor: Actor, tenantId: TenantId, endpointId: string, deliveryId: string) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    await enabledEndpoint(tx, endpointId);
    const d = await tx.selectFrom('event_deliveries').select(['event_id']).where('id', '=', deliveryId).where('endpoint_id', '=', endpointId).executeTakeFirst();
    if (!d) throw notFound('delivery');
    const id = newId('dlv');
    await tx.insertInto('event_deliveries').values({ tenant_id: tenantId, id, endpoint_id: endpointId, event_id: d.event_id }).execute();
    await audit(tx, { tenantId, actor, action: 'webhook_delivery.replayed', targetType: 'event_delivery', targetId: deliveryId, details: { new_delivery_id: id } });
    return { queued: 1, delivery_ids: [id] };
  });

/**
 * Replays, to an endpoint (after an outage is fixed), every event whose delivery to it failed since
 * `since` — by when it was given up (its last change), not when it was queued — except events it
 * has since received or still has pending (an earlier replay), so a repeated call sends nothing
 * twice. With `missed`, also every event since `since` (and since the endpoint was made) of a type
 * it subscribes to that it never had a delivery of: those emitted while it was disabled, which gets
 * no deliveries, so "replay what failed" could not bring them back. At most REPLAY_MAX events a
 * call, oldest first: calling again takes the next ones.
 */
const REPLAY_MAX = 10_000;
export const replayFailedSince = (ctx: AppContext, actor: Actor, tenantId: TenantId, endpointId: string, since: Date, missed = false) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    const ep = await enabledEndpoint(tx, endpointId);
    const failed = await tx.selectFrom('event_deliveries as d').select(['d.event_id']).distinct()
      .where('d.endpoint_id', '=', endpointId).where('d.status', '=', 'failed').where('d.updated_at', '>=', since)
      .where(({ not, exists, selectFrom }) => not(exists(
        selectFrom('event_deliveries as o').select('o.id').whereRef('o.event_id', '=', 'd.event_id')
          .where('o.endpoint_id', '=', endpointId).where('o.status', 'in', ['succeeded', 'pending']))))
      .orderBy('d.event_id').limit(REPLAY_MAX).execute();
    const never = !missed ? [] : (await sql<{ event_id: string }>`
      select e.id as event_id from events e
      where e.id >= ${idFloor('evt', Math.max(since.getTime(), new Date(ep.created_at).getTime()))} and (e.type = any(${ep.event_types}::text[]) or '*' = any(${ep.event_types}::text[]))
        and not exists (select 1 from event_deliveries o where o.endpoint_id = ${endpointId} and o.event_id = e.id)
      order by e.id limit ${REPLAY_MAX}`.execute(tx)).rows;
    const events = [...new Set([...failed, ...never].map((r) => r.event_id))].sort().slice(0, REPLAY_MAX);
    const ids = events.map(() => newId('dlv'));
    if (events.length > 0) {
      await tx.insertInto('event_deliveries').values(events.map((event_id, i) => ({ tenant_id: tenantId, id: ids[i]!, endpoint_id: endpointId, event_id }))).execute();
    }
    await audit(tx, { tenantId, actor, action: 'webhook_delivery.replayed', targetType: 'webhook_endpoint', targetId: endpointId, details: { since: since.toISOString(), count: events.length, failed: failed.length, missed: never.length } });
    return { queued: events.length, delivery_ids: ids.slice(0, 100) };
  });

export const listDeliveries = (ctx: AppContext, tenantId: TenantId, endpointId: string, limit: number, before?: string, status?: string) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    await findEndpoint(tx, endpointId);
    let q = tx.selectFrom('event_deliveries as d').innerJoin('events as e', 'e.id', 'd.event_id')
      .select(['d.id', 'd.event_id', 'e.type as event_type', 'd.status', 'd.attempts', 'd.next_attempt_at', 'd.last_status_code', 'd.last_error', 'd.created_at'])
      .where('d.endpoint_id', '=', endpointId).orderBy('d.id', 'desc').limit(limit + 1);
    if (before) q = q.where('d.id', '<', before);
    if (status) q = q.where('d.status', '=', status as 'failed');
    const rows = await q.execute();
    const ids = rows.map((r) => r.id);
    const attempts = ids.length === 0 ? [] : await tx.selectFrom('event_delivery_attempts').select(['delivery_id', 'status_code', 'latency_ms', 'error', 'at']).where('delivery_id', 'in', ids).orderBy('id').execute();
    return rows.map((r) => ({
      id: r.id, event_id: r.event_id, event_type: r.event_type, status: r.status, attempts: r.attempts,
      next_attempt_at: r.status === 'pending' ? new Date(r.next_attempt_at as Date).toISOString() : null,
      last_status_code: r.last_status_code, last_error: r.last_error, created_at: new Date(r.created_at).toISOString(),
      log: attempts.filter((a) => a.delivery_id === r.id).map((a) => ({ status_code: a.status_code, latency_ms: a.latency_ms, error: a.error, at: new Date(a.at).toISOString() })),
    }));
  });
