import type { AppContext } from '../app/context.js';
import { AppError, notFound } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { withTenant, type TenantId, type Tx } from '../db/db.js';
import { audit, type Actor } from '../audit/audit.js';
import { generateApiKey } from './api-keys.js';
import type { ApiKeysTable } from '../db/schema.js';

type KeyRow = Pick<ApiKeysTable, 'id' | 'name' | 'hint' | 'mode' | 'scopes'> & {
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
};
const COLS = ['id', 'name', 'hint', 'mode', 'scopes', 'created_at', 'expires_at', 'revoked_at', 'last_used_at'] as const;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const keyView = (k: KeyRow) => ({
  id: k.id,
  name: k.name,
  hint: k.hint,
  mode: k.mode,
  scopes: k.scopes,
  created_at: k.created_at.toISOString(),
  expires_at: iso(k.expires_at),
  revoked_at: iso(k.revoked_at),
  last_used_at: iso(k.last_used_at),
});

const LATEST_EXPIRY = Date.UTC(9999, 11, 31, 23, 59, 59);

export async function insertApiKey(
  tx: Tx,
  actor: Actor,
  tenantId: TenantId,
  p: { name: string; scopes?: string[]; mode?: 'live' | 'test'; expires_at?: string },
) {
  if (p.expires_at) {
    const at = Date.parse(p.expires_at);
    // A leap second (23:59:60, valid RFC 3339) is NaN here but a time to PostgreSQL: refused, not stored unchecked.
    if (Number.isNaN(at)) throw new AppError('validation_failed', 'expires_at must be a time without a leap second');
    if (at <= Date.now()) throw new AppError('validation_failed', 'expires_at is in the past');
    // Past year 9999 a time has no RFC 3339 form: the key would be stored and every answer naming it fail.
    if (at > LATEST_EXPIRY) throw new AppError('validation_failed', 'expires_at is after 9999-12-31T23:59:59Z');
  }
  const mode = p.mode ?? 'live';
  const { key, hash, hint } = generateApiKey(mode);
  const id = newId('key');
  const row = await tx
    .insertInto('api_keys')
    .values({ tenant_id: tenantId, id, name: p.name, hint, key_hash: hash, scopes: p.scopes ?? ['*'], mode, created_by: actor.id, expires_at: p.expires_at ?? null })
    .returning(COLS)
    .executeTakeFirstOrThrow();
  await audit(tx, { tenantId, actor, action: 'api_key.created', targetType: 'api_key', targetId: id, details: { name: p.name, scopes: row.scopes, mode } });
  return { ...keyView(row), key };
}

export const createApiKey = (ctx: AppContext, actor: Actor, tenantId: TenantId, p: Parameters<typeof insertApiKey>[3]) =>
  withTenant(ctx.db, tenantId, (tx) => insertApiKey(tx, actor, tenantId, p));

export const listApiKeys = (ctx: AppContext, tenantId: TenantId, limit: number, before?: string) =>
  withTenant(ctx.db, tenantId, (tx) => {
    let q = tx.selectFrom('api_keys').select(COLS).orderBy('id', 'desc').limit(limit + 1);
    if (before) q = q.where('id', '<', before);
    return q.execute();
  });

export async function getApiKey(ctx: AppContext, tenantId: TenantId, id: string) {
  const row = await withTenant(ctx.db, tenantId, (tx) => tx.selectFrom('api_keys').select(COLS).where('id', '=', id).executeTakeFirst());
  if (!row) throw notFound('API key');
  return row;
}

export async function revokeApiKey(ctx: AppContext, actor: Actor, tenantId: TenantId, id: string) {
  const row = await withTenant(ctx.db, tenantId, async (tx) => {
    const row = await tx
      .updateTable('api_keys')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(new Date())) }))
      .where('id', '=', id)
      .returning(COLS)
      .executeTakeFirst();
    if (!row) throw notFound('API key');
    await audit(tx, { tenantId, actor, action: 'api_key.revoked', targetType: 'api_key', targetId: id });
    return row;
  });
  // After the commit: this process's next request must not find the key in its cache (other
  // processes hear of it through the trigger's NOTIFY).
  ctx.authCache.invalidate(tenantId);
  return row;
}
