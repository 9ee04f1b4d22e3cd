import type { Generated } from 'kysely';

/** Kysely types for the delivery tables (migration 010), added to `DB` by augmentation. */
export interface DeliveryJobsTable {
  tenant_id: string;
  message_id: string;
  channel_id: string;
  peer: string;
  seq: Generated<number>;
  run_at: Generated<Date>;
  lease_owner: string | null;
  lease_until: Date | null;
  attempts: Generated<number>;
  created_at: Generated<Date>;
  last_error: string | null;
}

export interface DeliveryBucketsTable {
  tenant_id: string;
  channel_id: string;
  tokens: Generated<number>;
  refilled_at: Generated<Date>;
  paused_until: Generated<Date>;
  last_claim_at: Generated<Date>;
  next_send_at: Generated<Date>;
}

export interface QuotaCountersTable {
  tenant_id: string;
  scope: string;
  period: string;
  count: Generated<number>;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  key: string;
  request_hash: string;
  response_code: number;
  response: unknown;
  created_at: Generated<Date>;
}

export interface EarlyStatusesTable {
  tenant_id: string;
  channel_id: string;
  provider_message_id: string;
  status: string;
  error_code: string | null;
  error_detail: string | null;
  at: Date;
  created_at: Generated<Date>;
}

export interface MessageStatusLogTable {
  tenant_id: string;
  id: Generated<number>;
  message_id: string;
  status: string;
  error_code: string | null;
  at: Generated<Date>;
}

declare module '../db/schema.js' {
  interface DB {
    delivery_jobs: DeliveryJobsTable;
    delivery_buckets: DeliveryBucketsTable;
    quota_counters: QuotaCountersTable;
    idempotency_keys: IdempotencyKeysTable;
    early_statuses: EarlyStatusesTable;
    message_status_log: MessageStatusLogTable;
  }
}
