import type { AppContext } from '../app/context.js';
import type { Tx } from '../db/db.js';
import { withTenant, type TenantId } from '../db/db.js';
import type { PlanLimits } from '../db/schema.js';

export const LIMIT_KEYS = ['messages_per_day', 'messages_per_month', 'max_channels', 'api_requests_per_minute'] as const;

/** A tenant's limits: its plan's, with per-tenant overrides on top (null = unlimited). */
export async function effectiveLimits(tx: Tx, tenantId: TenantId): Promise<PlanLimits> {
  const row = await tx
    .selectFrom('tenants')
    .innerJoin('plans', 'plans.id', 'tenants.plan_id')
    .select(['plans.messages_per_day', 'plans.messages_per_month', 'plans.max_channels', 'plans.api_requests_per_minute', 'tenants.limits_override'])
    .where('tenants.id', '=', tenantId)
    .executeTakeFirstOrThrow();
  const o = row.limits_override ?? {};
  const pick = (k: (typeof LIMIT_KEYS)[number]): number | null => (k in o ? (o[k] ?? null) : row[k]);
  return {
    messages_per_day: pick('messages_per_day'),
    messages_per_month: pick('messages_per_month'),
    max_channels: pick('max_channels'),
    api_requests_per_minute: pick('api_requests_per_minute'),
  };
}

export const loadLimits = (ctx: AppContext, tenantId: TenantId): Promise<PlanLimits> =>
  withTenant(ctx.db, tenantId, (tx) => effectiveLimits(tx, tenantId));
