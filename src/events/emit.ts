import { sql } from 'kysely';
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
 * Records a tenant event in the caller's transaction, queues one delivery per enabled endpoint
 * subscribed to its type (SSE streams find it through src/events/stream.ts). The event,
 * its deliveries and the change that caused it commit together or not at all.
 */
export async function emitEvent(tx: Tx, e: { tenantId: string; type: EventType; channelId?: string | null; data: Record<string, unknown> }): Promise<string> {
  const id = newId('evt');
  await tx.insertInto('events').values({ tenant_id: e.tenantId, id, type: e.type, channel_id: e.channelId ?? null, data: JSON.stringify(e.data) }).execute();
  const endpoints = await tx.selectFrom('webhook_endpoints').select('id')
    .where('status', '=', 'enabled')
    .where(sql<boolean>`(${e.type} = any(event_types) or '*' = any(event_types))`)
    .execute();
  if (endpoints.length > 0) {
    await tx.insertInto('event_deliveries')
      .values(endpoints.map((w) => ({ tenant_id: e.tenantId, id: newId('dlv'), endpoint_id: w.id, event_id: id })))
      .execute();
  }
  return id;
}
