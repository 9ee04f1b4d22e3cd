import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { AppError, notFound } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { asTenantId, withPlatform, withTenant, type TenantId, type Tx } from '../db/db.js';
import type { Branding, PlanLimits } from '../db/schema.js';
import { audit, type Actor } from '../audit/audit.js';
import { effectiveLimits } from './limits.js';

export interface TenantView {
  id: string;
  slug: string;
  name: string;
  status: 'active' | 'suspended';
  plan: string;
  limits: PlanLimits;
  limits_override: Partial<PlanLimits>;
  branding: Branding;
  created_at: string;
}

type TenantRow = {
  id: string;
  slug: string;
  name: string;
  status: 'active' | 'suspended';
  plan_id: string;
  limits_override: Partial<PlanLimits>;
  branding: Branding;
  created_at: Date;
};

async function view(tx: Tx, t: TenantRow): Promise<TenantView> {
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    status: t.status,
    plan: t.plan_id,
    limits: await effectiveLimits(tx, asTenantId(t.id)),
    limits_override: t.limits_override,
    branding: t.branding,
    created_at: t.created_at.toISOString(),
  };
}

const COLUMNS = ['id', 'slug', 'name', 'status', 'plan_id', 'limits_override', 'branding', 'created_at'] as const;

/** Makes the rest of a (platform) transaction act as one tenant too, e.g. to write its audit entry. */
export const actAs = (tx: Tx, tenantId: string) => sql`select set_config('app.tenant_id', ${tenantId}, true)`.execute(tx);

export async function createTenant(
  ctx: AppContext,
  actor: Actor,
  p: { slug: string; name: string; plan?: string; branding?: Branding; limits_override?: Partial<PlanLimits> },
): Promise<TenantView> {
  return withPlatform(ctx.db, async (tx) => {
    const plan = p.plan ?? 'free';
    const planRow = await tx.selectFrom('plans').select('id').where('id', '=', plan).executeTakeFirst();
    if (!planRow) throw new AppError('validation_failed', `no plan named "${plan}"`);
    const taken = await tx.selectFrom('tenants').select('id').where('slug', '=', p.slug).executeTakeFirst();
    if (taken) throw new AppError('conflict', `the slug "${p.slug}" is taken`);
    const id = newId('ten');
    const row = await tx
      .insertInto('tenants')
      .values({
        id,
        slug: p.slug,
        name: p.name,
        plan_id: plan,
        branding: JSON.stringify(p.branding ?? {}),
        limits_override: JSON.stringify(p.limits_override ?? {}),
      })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    await actAs(tx, id);
    await audit(tx, { tenantId: id, actor, action: 'tenant.created', targetType: 'tenant', targetId: id, details: { slug: p.slug, plan } });
    return view(tx, row);
  });
}

export async function listTenants(ctx: AppContext, p: { limit: number; before?: string; status?: string }): Promise<TenantView[]> {
  return withPlatform(ctx.db, async (tx) => {
    let q = tx.selectFrom('tenants').select(COLUMNS).orderBy('id', 'desc').limit(p.limit + 1);
    if (p.before) q = q.where('id', '<', p.before);
    if (p.status) q = q.where('status', '=', p.status as 'active');
    const rows = await q.execute();
    return Promise.all(rows.map((r) => view(tx, r)));
  });
}

export async function getTenantAsAdmin(ctx: AppContext, idOrSlug: string): Promise<TenantView> {
  return withPlatform(ctx.db, async (tx) => {
    const row = await tx.selectFrom('tenants').select(COLUMNS).where((eb) => eb.or([eb('id', '=', idOrSlug), eb('slug', '=', idOrSlug)])).executeTakeFirst();
    if (!row) throw notFound('tenant');
    return view(tx, row);
  });
}

export async function getOwnTenant(ctx: AppContext, tenantId: TenantId): Promise<TenantView> {
  return withTenant(ctx.db, tenantId, async (tx) => {
    const row = await tx.selectFrom('tenants').select(COLUMNS).where('id', '=', tenantId).executeTakeFirstOrThrow();
    return view(tx, row);
  });
}

export interface TenantPatch {
  name?: string;
  status?: 'active' | 'suspended';
  plan?: string;
  branding?: Branding;
  limits_override?: Partial<PlanLimits>;
}

/** Superadmin update (any field). Tenants update their own name / branding via updateOwnTenant. */
export async function updateTenantAsAdmin(ctx: AppContext, actor: Actor, idOrSlug: string, patch: TenantPatch): Promise<TenantView> {
  const updated = await withPlatform(ctx.db, async (tx) => {
    const current = await tx.selectFrom('tenants').select(COLUMNS).where((eb) => eb.or([eb('id', '=', idOrSlug), eb('slug', '=', idOrSlug)])).executeTakeFirst();
    if (!current) throw notFound('tenant');
    if (patch.plan) {
      const plan = await tx.selectFrom('plans').select('id').where('id', '=', patch.plan).executeTakeFirst();
      if (!plan) throw new AppError('validation_failed', `no plan named "${patch.plan}"`);
    }
    const row = await tx
      .updateTable('tenants')
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.status !== undefined ? { status: patch.status } : {}),
        ...(patch.plan !== undefined ? { plan_id: patch.plan } : {}),
        ...(patch.branding !== undefined ? { branding: JSON.stringify(patch.branding) } : {}),
        ...(patch.limits_override !== undefined ? { limits_override: JSON.stringify(patch.limits_override) } : {}),
        updated_at: new Date(),
      })
      .where('id', '=', current.id)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    await actAs(tx, current.id);
    const action = patch.status === 'suspended' ? 'tenant.suspended' : patch.status === 'active' && current.status !== 'active' ? 'tenant.reactivated' : 'tenant.updated';
    await audit(tx, { tenantId: current.id, actor, action, targetType: 'tenant', targetId: current.id, details: { ...patch } });
    return view(tx, row);
  });
  ctx.authCache.invalidate(updated.id); // after the commit (decision 019)
  return updated;
}

export async function updateOwnTenant(ctx: AppContext, actor: Actor, tenantId: TenantId, patch: { name?: string; branding?: Branding }): Promise<TenantView> {
  return withTenant(ctx.db, tenantId, async (tx) => {
    const row = await tx
      .updateTable('tenants')
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.branding !== undefined ? { branding: JSON.stringify(patch.branding) } : {}),
        updated_at: new Date(),
      })
      .where('id', '=', tenantId)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    await audit(tx, { tenantId, actor, action: 'tenant.updated', targetType: 'tenant', targetId: tenantId, details: { ...patch } });
    return view(tx, row);
  });
}

export async function deleteTenant(ctx: AppContext, actor: Actor, idOrSlug: string): Promise<void> {
  const id = await withPlatform(ctx.db, async (tx) => {
    const t = await tx.selectFrom('tenants').select(['id', 'slug']).where((eb) => eb.or([eb('id', '=', idOrSlug), eb('slug', '=', idOrSlug)])).executeTakeFirst();
    if (!t) throw notFound('tenant');
    await actAs(tx, t.id);
    await tx.deleteFrom('audit_log').where('tenant_id', '=', t.id).execute();
    await tx.deleteFrom('tenants').where('id', '=', t.id).execute();
    // The deletion itself is recorded on the platform log: the tenant's own log is gone with it.
    await actAs(tx, 'platform');
    await audit(tx, { tenantId: 'platform', actor, action: 'tenant.deleted', targetType: 'tenant', targetId: t.id, details: { slug: t.slug } });
    return t.id;
  });
  ctx.authCache.invalidate(id); // after the commit (decision 019)
}

/** Public branding for a subdomain's login page. Grants nothing. */
export async function brandingForSlug(ctx: AppContext, slug: string): Promise<{ slug: string; name: string; branding: Branding } | null> {
  const row = await withPlatform(ctx.db, (tx) => tx.selectFrom('tenants').select(['slug', 'name', 'branding']).where('slug', '=', slug).executeTakeFirst());
  return row ?? null;
}
