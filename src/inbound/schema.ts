import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** Tables of migration 020 (inbound pipeline). */
export interface InboxTable {
  tenant_id: string;
  id: string;
  channel_id: string;
  provider: string;
  status: Generated<'pending' | 'done' | 'rejected'>;
  body: Buffer;
  headers: ColumnType<Record<string, string>, string | undefined, string>;
  split: Generated<boolean>;
  attempts: Generated<number>;
  locked_until: Timestamp | null;
  error: string | null;
  received_at: Generated<Date>;
  processed_at: Timestamp | null;
}

export interface InboundRejectsTable {
  id: string;
  provider: string;
  reason: string;
  routing_keys: string[];
  body_bytes: number;
  body_sha256: string;
  at: Generated<Date>;
}

export interface InboundDedupeTable {
  tenant_id: string;
  channel_id: string;
  dedupe_key: string;
  at: Generated<Date>;
}

declare module '../db/schema.js' {
  interface DB {
    inbox: InboxTable;
    inbound_rejects: InboundRejectsTable;
    inbound_dedupe: InboundDedupeTable;
  }
}
