import type { AppContext } from '../app/context.js';
import { AppError, notFound } from '../core/errors.js';
import { withPlatform } from '../db/db.js';
import { actAs } from './service.js';
import { audit, PLATFORM_TENANT, type Actor } from '../audit/audit.js';
import type { PlanLimits } from '../db/schema.js';

const COLS = ['id', 'name', 'messages_per_day', 'messages_per_month', 'max_channels', 'api_requests_per_minute'] as const;
type PlanInput = { name: string } & PlanLimits;

export const listPlans = (ctx: AppContext) => ctx.db.selectFrom('plans').select(COLS).orderBy('id').execute();

export async function createPlan(ctx: AppContext, actor: Actor, p: { id: string } & PlanInput) {
  return withPlatform(ctx.db, async (tx) => {
    const exists = await tx.selectFrom('plans').select('id').where('id', '=', p.id).executeTakeFirst();
    if (exists) throw new AppError('conflict', `a plan "${p.id}" exists`);
    const row = await tx.insertInto('plans').values(p).returning(COLS).executeTakeFirstOrThrow();
    await actAs(tx, PLATFORM_TENANT);
    await audit(tx, { tenantId: PLATFORM_TENANT, actor, action: 'plan.created', targetType: 'plan', targetId: p.id, details: { ...p } });
    return row;
  });
}

export async function updatePlan(ctx: AppContext, actor: Actor, id: string, patch: Partial<PlanInput>) {
  return withPlatform(ctx.db, async (tx) => {
    const row = await tx.updateTable('plans').set({ ...patch, updated_at: new Date() }).where('id', '=', id).returning(COLS).executeTakeFirst();
    if (!row) throw notFound('plan');
    await actAs(tx, PLATFORM_TENANT);
    await audit(tx, { tenantId: PLATFORM_TENANT, actor, action: 'plan.updated', targetType: 'plan', targetId: id, details: { ...patch } });
    return row;
  });
}
