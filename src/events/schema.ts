import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = Record<string, unknown>> = ColumnType<T, T | string | undefined, T | string>;

/** Tables of migration 021 (tenant events). */
export interface EventsTable {
  tenant_id: string;
  id: string;
  type: string;
  channel_id: string | null;
  data: Json;
  created_at: Generated<Date>;
}

export interface WebhookEndpointsTable {
  tenant_id: string;
  id: string;
  url: string;
  description: string | null;
  event_types: string[];
  status: Generated<'enabled' | 'disabled'>;
  disabled_reason: string | null;
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_expires_at: Timestamp | null;
  failing_since: Timestamp | null;
  /** The last failed attempt (migration 053): a failure more than a day after it starts a new run. */
  last_failed_at: Timestamp | null;
  /** When a delivery of this endpoint was last claimed as a probe (migration 042): the probe budget goes round. */
  probed_at: Timestamp | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface EventDeliveriesTable {
  tenant_id: string;
  id: string;
  endpoint_id: string;
  event_id: string;
  status: Generated<'pending' | 'succeeded' | 'failed'>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date> | Timestamp;
  locked_until: Timestamp | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface EventDeliveryAttemptsTable {
  tenant_id: string;
  id: string;
  delivery_id: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  at: Generated<Date>;
}

declare module '../db/schema.js' {
  interface DB {
    events: EventsTable;
    webhook_endpoints: WebhookEndpointsTable;
    event_deliveries: EventDeliveriesTable;
    event_delivery_attempts: EventDeliveryAttemptsTable;
  }
}
