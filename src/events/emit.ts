import { newId } from '../core/ids.js';
import type { Tx } from '../db/db.js';
import './schema.js';

export const EVENT_TYPES = [
  'message.received',
  'message.status',
  'message.revoked',
  'message.edited',
  'channel.session',
  'channel.error',
  'conversation.updated',
  'webhook_endpoint.disabled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Enabled endpoints, read once per transaction: the inbound normaliser emits one event per message
 * and a batch of 25 messages would otherwise read the same rows 25 times. Endpoint changes commit
 * in their own transactions, so a transaction-long snapshot is what a single statement would see.
 */
const endpointCache = new WeakMap<Tx, Promise<{ id: string; types: string[] }[]>>();
function endpointsOf(tx: Tx): Promise<{ id: string; types: string[] }[]> {
  let p = endpointCache.get(tx);
  if (!p) {
    p = tx.selectFrom('webhook_endpoints').select(['id', 'event_types']).where('status', '=', 'enabled').execute()
      .then((rows) => rows.map((r) => ({ id: r.id, types: r.event_types })));
    endpointCache.set(tx, p);
  }
  return p;
}

/**
 * Records a tenant event in the caller's transaction, queues one delivery per enabled endpoint
 * subscribed to its type (SSE streams find it through src/events/stream.ts). The event,
 * its deliveries and the change that caused it commit together or not at all.
 */
export async function emitEvent(tx: Tx, e: { tenantId: string; type: EventType; channelId?: string | null; data: Record<string, unknown> }): Promise<string> {
  const id = newId('evt');
  await tx.insertInto('events').values({ tenant_id: e.tenantId, id, type: e.type, channel_id: e.channelId ?? null, data: JSON.stringify(e.data) }).execute();
  const endpoints = (await endpointsOf(tx)).filter((w) => w.types.includes(e.type) || w.types.includes('*'));
  if (endpoints.length > 0) {
    await tx.insertInto('event_deliveries')
      .values(endpoints.map((w) => ({ tenant_id: e.tenantId, id: newId('dlv'), endpoint_id: w.id, event_id: id })))
      .execute();
  }
  return id;
}

/** `emitEvent` for many events of one tenant: two statements whatever the count (inbound batches). */
export async function emitEvents(tx: Tx, tenantId: string, events: { type: EventType; channelId: string | null; data: Record<string, unknown> }[]): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((e) => ({ tenant_id: tenantId, id: newId('evt'), type: e.type, channel_id: e.channelId, data: JSON.stringify(e.data) }));
  await tx.insertInto('events').values(rows).execute();
  const endpoints = await endpointsOf(tx);
  const deliveries = rows.flatMap((r) => endpoints.filter((w) => w.types.includes(r.type) || w.types.includes('*'))
    .map((w) => ({ tenant_id: tenantId, id: newId('dlv'), endpoint_id: w.id, event_id: r.id })));
  if (deliveries.length > 0) await tx.insertInto('event_deliveries').values(deliveries).execute();
}
