import type { AppContext } from '../app/context.js';
import { audit, type Actor } from '../audit/audit.js';
import { notFound } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { withTenant, type TenantId } from '../db/db.js';
import { findEndpoint } from './endpoints.js';
import './schema.js';

/** A replay is a fresh delivery of the same event (same webhook-id, so receivers can dedupe). */
export const replayDelivery = (ctx: AppContext, actor: Actor, tenantId: TenantId, endpointId: string, deliveryId: string) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    await findEndpoint(tx, endpointId);
    const d = await tx.selectFrom('event_deliveries').select(['event_id']).where('id', '=', deliveryId).where('endpoint_id', '=', endpointId).executeTakeFirst();
    if (!d) throw notFound('delivery');
    const id = newId('dlv');
    await tx.insertInto('event_deliveries').values({ tenant_id: tenantId, id, endpoint_id: endpointId, event_id: d.event_id }).execute();
    await audit(tx, { tenantId, actor, action: 'webhook_delivery.replayed', targetType: 'event_delivery', targetId: deliveryId, details: { new_delivery_id: id } });
    return { queued: 1, delivery_ids: [id] };
  });

/** Replays every failed delivery of an endpoint created since `since` (after an outage is fixed). */
export const replayFailedSince = (ctx: AppContext, actor: Actor, tenantId: TenantId, endpointId: string, since: Date) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    await findEndpoint(tx, endpointId);
    const failed = await tx.selectFrom('event_deliveries').select(['event_id']).distinct()
      .where('endpoint_id', '=', endpointId).where('status', '=', 'failed').where('created_at', '>=', since).limit(10_000).execute();
    const ids = failed.map(() => newId('dlv'));
    if (failed.length > 0) {
      await tx.insertInto('event_deliveries').values(failed.map((f, i) => ({ tenant_id: tenantId, id: ids[i]!, endpoint_id: endpointId, event_id: f.event_id }))).execute();
    }
    await audit(tx, { tenantId, actor, action: 'webhook_delivery.replayed', targetType: 'webhook_endpoint', targetId: endpointId, details: { since: since.toISOString(), count: failed.length } });
    return { queued: failed.length, delivery_ids: ids.slice(0, 100) };
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
