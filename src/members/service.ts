import type { AppContext } from '../app/context.js';
import { AppError, notFound } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { withTenant, type TenantId, type Tx } from '../db/db.js';
import type { Role } from '../db/schema.js';
import { audit, type Actor } from '../audit/audit.js';
import { hashPassword } from '../identity/passwords.js';
import { assertRoleGrantable, ROLE_SCOPES, type Scope } from '../identity/scopes.js';
import { unassignMember } from '../conversations/service.js';

export interface MemberView {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  created_at: string;
}

/**
 * Users are global identities (an e-mail is one person). One created by a tenant (`managedBy`) is
 * that tenant's: nobody proved the address, so no other tenant may add it (decision 054).
 */
export async function createUser(ctx: AppContext, p: { email: string; password: string; name?: string; superadmin?: boolean; managedBy?: string }) {
  const existing = await ctx.db.selectFrom('users').select('id').where((eb) => eb(eb.fn('lower', ['email']), '=', p.email.toLowerCase())).executeTakeFirst();
  if (existing) throw new AppError('conflict', 'a user with this e-mail exists');
  const id = newId('usr');
  const password_hash = await hashPassword(p.password);
  try {
    await ctx.db.insertInto('users').values({ id, email: p.email, name: p.name ?? '', password_hash, is_superadmin: p.superadmin ?? false, managed_by_tenant: p.managedBy ?? null }).execute();
  } catch (err) {
    // The same new address added at the same moment elsewhere: the unique index tells (was a 500).
    if ((err as { code?: unknown }).code === '23505') throw new AppError('conflict', 'a user with this e-mail exists');
    throw err;
  }
  return { id, email: p.email, name: p.name ?? '', is_superadmin: p.superadmin ?? false };
}

export const findUserByEmail = (ctx: AppContext, email: string) =>
  ctx.db.selectFrom('users').selectAll().where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase())).executeTakeFirst();

async function memberRows(tx: Tx) {
  return tx
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.id as user_id', 'users.email', 'users.name', 'memberships.role', 'memberships.created_at'])
    .orderBy('users.id', 'desc');
}

const view = (r: { user_id: string; email: string; name: string; role: Role; created_at: Date }): MemberView => ({ ...r, created_at: r.created_at.toISOString() });

export const listMembers = (ctx: AppContext, tenantId: TenantId, limit: number, before?: string) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    let q = (await memberRows(tx)).limit(limit + 1);
    if (before) q = q.where('users.id', '<', before);
    return (await q.execute()).map((r) => ({ id: r.user_id, ...view(r) }));
  });

export async function getMember(ctx: AppContext, tenantId: TenantId, userId: string): Promise<MemberView> {
  const r = await withTenant(ctx.db, tenantId, async (tx) => (await memberRows(tx)).where('users.id', '=', userId).executeTakeFirst());
  if (!r) throw notFound('member');
  return view(r);
}

/** Adds a member; creates the user when the e-mail is new (then a password is required). */
export async function addMember(ctx: AppContext, actor: Actor, tenantId: TenantId, p: { email: string; role: Role; name?: string; password?: string }, holder: ReadonlySet<Scope>): Promise<MemberView> {
  if (p.role === 'owner') assertOwnerRights(holder.has('tenant:write'), 'adding an owner');
  assertRoleGrantable(holder, p.role);
  let user = await findUserByEmail(ctx, p.email);
  if (!user) {
    if (!p.password) throw new AppError('validation_failed', 'a password is required for a new user', { details: { errors: [{ path: '/password', message: 'required for a new user' }] } });
    await createUser(ctx, { email: p.email, password: p.password, name: p.name, managedBy: tenantId });
    user = (await findUserByEmail(ctx, p.email))!;
  } else if (user.managed_by_tenant !== null && user.managed_by_tenant !== tenantId) {
    // Its password was set by another tenant, which could sign in as this "member" (decision 054).
    throw new AppError('conflict', 'this address belongs to an account another organisation created; the operator can make it shareable');
  } else if (p.password) {
    // Never let one tenant set the password of a person who already exists (maybe in another tenant).
    throw new AppError('conflict', 'this user exists; add them without a password');
  }
  const userId = user.id;
  return withTenant(ctx.db, tenantId, async (tx) => {
    const exists = await tx.selectFrom('memberships').select('user_id').where('user_id', '=', userId).executeTakeFirst();
    if (exists) throw new AppError('conflict', 'already a member');
    await tx.insertInto('memberships').values({ tenant_id: tenantId, user_id: userId, role: p.role }).execute();
    await audit(tx, { tenantId, actor, action: 'member.added', targetType: 'user', targetId: userId, details: { email: p.email, role: p.role } });
    return view((await (await memberRows(tx)).where('users.id', '=', userId).executeTakeFirstOrThrow()));
  });
}

/**
 * The owners' rows are locked before they are counted: two owners removing (or demoting) each other
 * at once both saw two owners and left the tenant with none.
 */
async function assertNotLastOwner(tx: Tx, userId: string): Promise<void> {
  const owners = await tx.selectFrom('memberships').select('user_id').where('role', '=', 'owner').orderBy('user_id').forUpdate().execute();
  if (owners.length === 1 && owners[0]!.user_id === userId) throw new AppError('conflict', 'a tenant keeps at least one owner');
}

/**
 * Who may make, change or remove an owner: only a credential that may change the tenant itself
 * (`tenant:write`, an owner's). `members:write` alone (an admin, or a key an admin made) would
 * otherwise make itself owner and remove the real one (decision 053).
 */
function assertOwnerRights(ownerRights: boolean, what: string): void {
  if (!ownerRights) {
    throw new AppError('insufficient_scope', `${what} needs the tenant:write scope (an owner's)`, { details: { required_scope: 'tenant:write' } });
  }
}

export async function updateMember(ctx: AppContext, actor: Actor, tenantId: TenantId, userId: string, role: Role, holder: ReadonlySet<Scope>): Promise<MemberView> {
  const ownerRights = holder.has('tenant:write');
  return withTenant(ctx.db, tenantId, async (tx) => {
    const cur = await tx.selectFrom('memberships').select('role').where('user_id', '=', userId).executeTakeFirst();
    if (!cur) throw notFound('member');
    if (cur.role !== role && (role === 'owner' || cur.role === 'owner')) assertOwnerRights(ownerRights, role === 'owner' ? 'making an owner' : "changing an owner's role");
    if (cur.role !== role) assertRoleGrantable(holder, role);
    if (cur.role === 'owner' && role !== 'owner') await assertNotLastOwner(tx, userId);
    await tx.updateTable('memberships').set({ role }).where('user_id', '=', userId).execute();
    // A role that cannot handle conversations hands back the ones it held (decision 049).
    const unassigned = ROLE_SCOPES[role].includes('conversations:write') ? 0 : await unassignMember(tx, tenantId, userId);
    await audit(tx, { tenantId, actor, action: 'member.role_changed', targetType: 'user', targetId: userId, details: { from: cur.role, to: role, ...(unassigned ? { unassigned_conversations: unassigned } : {}) } });
    return view(await (await memberRows(tx)).where('users.id', '=', userId).executeTakeFirstOrThrow());
  });
}

export async function removeMember(ctx: AppContext, actor: Actor, tenantId: TenantId, userId: string, ownerRights: boolean): Promise<void> {
  await withTenant(ctx.db, tenantId, async (tx) => {
    const cur = await tx.selectFrom('memberships').select('role').where('user_id', '=', userId).executeTakeFirst();
    if (!cur) throw notFound('member');
    if (cur.role === 'owner') assertOwnerRights(ownerRights, 'removing an owner');
    if (cur.role === 'owner') await assertNotLastOwner(tx, userId);
    await tx.deleteFrom('memberships').where('user_id', '=', userId).execute();
    // Their sessions here end now, and do not come back if they are added again.
    await tx.deleteFrom('dashboard_sessions').where('user_id', '=', userId).where('tenant_id', '=', tenantId).execute();
    const unassigned = await unassignMember(tx, tenantId, userId);
    await audit(tx, { tenantId, actor, action: 'member.removed', targetType: 'user', targetId: userId, ...(unassigned ? { details: { unassigned_conversations: unassigned } } : {}) });
  });
}
