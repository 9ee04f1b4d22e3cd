import type { ColumnType, Generated } from 'kysely';

/** Kysely table types. Mirrors src/db/migrations/*.sql; keep them in step. */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = Record<string, unknown>> = ColumnType<T, T | string | undefined, T | string>;

export interface PlansTable {
  id: string;
  name: string;
  messages_per_day: number | null;
  messages_per_month: number | null;
  max_channels: number | null;
  api_requests_per_minute: number | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface TenantsTable {
  id: string;
  slug: string;
  name: string;
  status: Generated<'active' | 'suspended'>;
  plan_id: string;
  limits_override: Json<Partial<PlanLimits>>;
  branding: Json<Branding>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface PlanLimits {
  messages_per_day: number | null;
  messages_per_month: number | null;
  max_channels: number | null;
  api_requests_per_minute: number | null;
}

export interface Branding {
  display_name?: string;
  logo_url?: string;
  primary_color?: string;
  accent_color?: string;
}

export interface UsersTable {
  id: string;
  email: string;
  name: Generated<string>;
  password_hash: string;
  is_superadmin: Generated<boolean>;
  /** The tenant that set this user's password (POST /v1/members); null for users the operator made (migration 043). */
  managed_by_tenant: string | null;
  created_at: Generated<Date>;
}

export type Role = 'owner' | 'admin' | 'agent' | 'viewer';

export interface MembershipsTable {
  tenant_id: string;
  user_id: string;
  role: Role;
  created_at: Generated<Date>;
}

export interface DashboardSessionsTable {
  id: string;
  token_hash: Buffer;
  csrf_hash: Buffer;
  user_id: string;
  tenant_id: string | null;
  superadmin: Generated<boolean>;
  created_at: Generated<Date>;
  expires_at: Timestamp;
}

export interface ApiKeysTable {
  tenant_id: string;
  id: string;
  name: string;
  hint: string;
  key_hash: Buffer;
  scopes: string[];
  mode: 'live' | 'test';
  created_by: string | null;
  created_at: Generated<Date>;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

export interface AdminKeysTable {
  id: string;
  name: string;
  hint: string;
  key_hash: Buffer;
  created_at: Generated<Date>;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
  expires_at: Timestamp | null;
}

export interface ChannelsTable {
  tenant_id: string;
  id: string;
  name: string;
  provider: string;
  external_id: string;
  status: Generated<'active' | 'disabled'>;
  secrets_enc: string;
  settings: Json;
  webhook_token: string;
  rate_per_second: number;
  burst: number;
  daily_limit: number | null;
  health: Json;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface AuditLogTable {
  tenant_id: string;
  id: string;
  at: Generated<Date>;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  details: Json;
}

export interface DB {
  plans: PlansTable;
  tenants: TenantsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  dashboard_sessions: DashboardSessionsTable;
  api_keys: ApiKeysTable;
  admin_keys: AdminKeysTable;
  channels: ChannelsTable;
  audit_log: AuditLogTable;
  contacts: ContactsTable;
  conversations: ConversationsTable;
  messages: MessagesTable;
}
// Features add their own tables by augmenting this interface from their folder
// (`declare module '../db/schema.js' { interface DB { … } }`).

// ----------------------------------------------------------- conversations & messages (003)

export interface ContactsTable {
  tenant_id: string;
  id: string;
  channel_id: string;
  address: string;
  profile_name: string | null;
  is_group: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ConversationsTable {
  tenant_id: string;
  id: string;
  channel_id: string;
  contact_id: string;
  status: Generated<'open' | 'closed'>;
  mode: Generated<'bot' | 'human'>;
  assignee_id: string | null;
  last_message_at: Timestamp | null;
  unread_count: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type MessageStatus = 'queued' | 'sending' | 'sent' | 'delivered' | 'read' | 'played' | 'failed' | 'cancelled' | 'received';

export interface MessagesTable {
  tenant_id: string;
  id: string;
  channel_id: string;
  conversation_id: string;
  direction: 'in' | 'out';
  status: MessageStatus;
  type: string;
  content: Json<unknown>;
  peer: string;
  sender: string | null;
  provider_message_id: string | null;
  reply_to: string | null;
  error_code: string | null;
  error_detail: string | null;
  attempts: Generated<number>;
  metadata: Json;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  sent_at: Timestamp | null;
  delivered_at: Timestamp | null;
  read_at: Timestamp | null;
  failed_at: Timestamp | null;
}
