import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../app/context.js';
import { AppError } from '../core/errors.js';
import { asTenantId, type TenantId } from '../db/db.js';
import type { Role } from '../db/schema.js';
import { hashApiKey, parseApiKey } from './api-keys.js';
import { expandScopes, ROLE_SCOPES, type Scope } from './scopes.js';
import { safeEqual } from '../core/signatures.js';

/**
 * Who is calling. The tenant is taken ONLY from here: a verified API key, JWT or dashboard session.
 * Paths, queries, bodies and subdomains never name the tenant a request acts on.
 */
export type Principal =
  | { kind: 'api_key'; tenantId: TenantId; keyId: string; scopes: Set<Scope>; expiresAt: Date | null }
  | { kind: 'jwt'; tenantId: TenantId; subject: string | undefined; scopes: Set<Scope> }
  | { kind: 'session'; tenantId: TenantId; userId: string; role: Role; scopes: Set<Scope>; sessionId: string; csrfHash: Buffer }
  | { kind: 'superadmin'; userId: string | undefined; adminKeyId: string | undefined; sessionId: string | undefined; csrfHash: Buffer | undefined };

export const SESSION_COOKIE = 'sb_session';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string' && /^bearer\s+/i.test(h)) return h.replace(/^bearer\s+/i, '').trim();
  const x = req.headers['x-api-key'];
  return typeof x === 'string' && x ? x.trim() : undefined;
}

/** Resolves the caller, or null when the request carries no credential at all. */
export async function authenticate(ctx: AppContext, req: FastifyRequest): Promise<Principal | null> {
  const token = bearer(req);
  if (token) {
    if (token.startsWith('sb_')) return authenticateKey(ctx, token);
    if (!ctx.jwt) throw new AppError('invalid_credentials', 'not an API key, and JWT authentication is not configured');
    const claims = await ctx.jwt.verify(token);
    await requireActiveTenant(ctx, claims.tenantId);
    return { kind: 'jwt', tenantId: asTenantId(claims.tenantId), subject: claims.subject, scopes: expandScopes(claims.scopes) };
  }
  const cookie = req.cookies?.[SESSION_COOKIE];
  if (cookie) return authenticateSession(ctx, cookie);
  return null;
}

const TOUCH_EVERY_MS = 60_000;
/** Key id → when this process last recorded its use. */
const touchedAt = new Map<string, number>();

/** A revoked or expired key (tenant or superadmin) is refused. */
function assertKeyUsable(k: { revoked_at: Date | string | null; expires_at: Date | string | null }, now: number): void {
  if (k.revoked_at) throw new AppError('api_key_revoked');
  if (k.expires_at && new Date(k.expires_at).getTime() <= now) throw new AppError('api_key_expired');
}

/**
 * Records a key's use (`write`) at most once a minute per key and process: the round trip is saved
 * on all but one request a minute per key (decision 017).
 */
async function touchKey(id: string, now: number, write: () => Promise<unknown>): Promise<void> {
  if ((touchedAt.get(id) ?? -Infinity) > now - TOUCH_EVERY_MS) return;
  await write();
  if (touchedAt.size >= 100_000) touchedAt.clear();
  touchedAt.set(id, now);
}

async function authenticateKey(ctx: AppContext, key: string): Promise<Principal> {
  const kind = parseApiKey(key);
  if (!kind) throw new AppError('api_key_malformed');
  const hash = hashApiKey(key);
  if (kind === 'admin') {
    const row = await ctx.db.selectFrom('admin_keys').select(['id', 'revoked_at', 'expires_at']).where('key_hash', '=', hash).executeTakeFirst();
    if (!row) throw new AppError('invalid_credentials', 'unknown API key');
    const now = ctx.clock.now().getTime();
    assertKeyUsable(row, now);
    await touchKey(row.id, now, () => ctx.db.updateTable('admin_keys').set({ last_used_at: new Date(now) }).where('id', '=', row.id).execute());
    return { kind: 'superadmin', userId: undefined, adminKeyId: row.id, sessionId: undefined, csrfHash: undefined };
  }
  const row = await ctx.authCache.get(`k:${hash.toString('hex')}`, () => findKey(ctx, hash), (r) => r.tenant_id);
  if (!row) throw new AppError('invalid_credentials', 'unknown API key');
  const now = ctx.clock.now().getTime();
  assertKeyUsable(row, now);
  if (row.tenant_status !== 'active') throw new AppError('tenant_suspended');
  // sb_touch_api_key also throttles to one write a minute per key, across processes.
  await touchKey(row.id, now, () => sql`select sb_touch_api_key(${row.tenant_id}, ${row.id})`.execute(ctx.db));
  return { kind: 'api_key', tenantId: asTenantId(row.tenant_id), keyId: row.id, scopes: expandScopes(row.scopes), expiresAt: row.expires_at === null ? null : new Date(row.expires_at) };
}

interface KeyRow {
  tenant_id: string;
  id: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  tenant_status: string;
}

async function findKey(ctx: AppContext, hash: Buffer): Promise<KeyRow | undefined> {
  const { rows } = await sql<KeyRow>`select * from sb_find_api_key(${hash})`.execute(ctx.db);
  return rows[0];
}

async function requireActiveTenant(ctx: AppContext, tenantId: string): Promise<void> {
  // tenants is RLS-protected: read it inside the tenant's own scope.
  const status = (await ctx.authCache.get(`t:${tenantId}`, async () => {
    const s = await tenantStatus(ctx, tenantId);
    return s === undefined ? undefined : { status: s };
  }, () => tenantId))?.status;
  if (!status) throw new AppError('token_invalid', 'the token names an unknown tenant');
  if (status !== 'active') throw new AppError('tenant_suspended');
}

async function tenantStatus(ctx: AppContext, tenantId: string): Promise<string | undefined> {
  return ctx.db.transaction().execute(async (tx) => {
    await sql`select set_config('app.tenant_id', ${tenantId}, true)`.execute(tx);
    const r = await tx.selectFrom('tenants').select('status').where('id', '=', tenantId).executeTakeFirst();
    return r?.status;
  });
}

async function authenticateSession(ctx: AppContext, token: string): Promise<Principal> {
  const s = await ctx.db
    .selectFrom('dashboard_sessions')
    .innerJoin('users', 'users.id', 'dashboard_sessions.user_id')
    .select(['dashboard_sessions.id', 'user_id', 'tenant_id', 'superadmin', 'expires_at', 'csrf_hash', 'users.is_superadmin'])
    .where('token_hash', '=', sha256(token))
    .executeTakeFirst();
  if (!s || s.expires_at.getTime() <= ctx.clock.now().getTime()) throw new AppError('unauthenticated', 'the session has expired; sign in again');
  // A superadmin session ends when the user stops being one, not when it expires.
  if (s.superadmin && !s.is_superadmin) throw new AppError('unauthenticated', 'you are no longer a superadmin; sign in again');
  if (s.superadmin) return { kind: 'superadmin', userId: s.user_id, adminKeyId: undefined, sessionId: s.id, csrfHash: s.csrf_hash };
  if (!s.tenant_id) throw new AppError('unauthenticated');
  const tenantId = asTenantId(s.tenant_id);
  const membership = await ctx.db.transaction().execute(async (tx) => {
    await sql`select set_config('app.tenant_id', ${tenantId}, true)`.execute(tx);
    return tx
      .selectFrom('memberships')
      .innerJoin('tenants', 'tenants.id', 'memberships.tenant_id')
      .select(['memberships.role', 'tenants.status'])
      .where('memberships.user_id', '=', s.user_id)
      .executeTakeFirst();
  });
  if (!membership) throw new AppError('unauthenticated', 'you are no longer a member of this tenant');
  if (membership.status !== 'active') throw new AppError('tenant_suspended');
  return {
    kind: 'session',
    tenantId,
    userId: s.user_id,
    role: membership.role,
    scopes: new Set(ROLE_SCOPES[membership.role]),
    sessionId: s.id,
    csrfHash: s.csrf_hash,
  };
}

/** Double-submit CSRF check for cookie-authenticated, state-changing requests. */
export function checkCsrf(principal: Principal, req: FastifyRequest): void {
  const csrfHash = principal.kind === 'session' || principal.kind === 'superadmin' ? principal.csrfHash : undefined;
  if (!csrfHash || ['GET', 'HEAD', 'OPTIONS'].includes(req.method)) return;
  const header = req.headers['x-csrf-token'];
  if (typeof header !== 'string' || !safeEqual(sha256(header).toString('hex'), csrfHash.toString('hex'))) {
    throw new AppError('csrf_failed');
  }
}

export async function createSession(
  ctx: AppContext,
  p: { userId: string; tenantId: string | null; superadmin: boolean },
): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const expiresAt = new Date(ctx.clock.now().getTime() + SESSION_TTL_MS);
  await ctx.db
    .insertInto('dashboard_sessions')
    .values({
      id: `ses_${randomBytes(12).toString('hex')}`,
      token_hash: sha256(token),
      csrf_hash: sha256(csrfToken),
      user_id: p.userId,
      tenant_id: p.tenantId,
      superadmin: p.superadmin,
      expires_at: expiresAt,
    })
    .execute();
  return { token, csrfToken, expiresAt };
}
