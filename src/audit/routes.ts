import { Type } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import { tenantOf } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { withPlatform, withTenant, type Tx } from '../db/db.js';
import { errorResponses } from '../http/schemas.js';
import { decodeCursor, Page, PageQuery, toPage } from '../http/pagination.js';

const Entry = Type.Object({
  id: Type.String(),
  tenant_id: Type.String(),
  at: Type.String({ format: 'date-time' }),
  actor_type: Type.String({ description: "user, api_key, jwt, system — or, in a tenant's own log, platform for the operators (CLI, superadmin)" }),
  actor_id: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  target_type: Type.Union([Type.String(), Type.Null()]),
  target_id: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
});
const Query = Type.Object({
  ...PageQuery,
  action: Type.Optional(Type.String({ maxLength: 100 })),
  target_id: Type.Optional(Type.String({ maxLength: 100 })),
});

/** Actors of the platform's operators, not of the tenant. */
const PLATFORM_ACTORS = new Set(['cli', 'admin_key', 'superadmin']);

async function query(tx: Tx, q: { limit?: number; cursor?: string; action?: string; target_id?: string; tenant?: string }, view: 'tenant' | 'platform') {
  const limit = q.limit ?? 50;
  let s = tx.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit + 1);
  const before = decodeCursor(q.cursor, 'aud');
  if (before) s = s.where('id', '<', before);
  if (q.action) s = s.where('action', '=', q.action);
  if (q.target_id) s = s.where('target_id', '=', q.target_id);
  if (q.tenant) s = s.where('tenant_id', '=', q.tenant);
  const rows = await s.execute();
  return toPage(rows, limit, (r) => {
    const e = { ...r, at: r.at.toISOString(), details: r.details as Record<string, unknown> };
    // A tenant sees that the platform acted, not which operator, key or address (their OS user
    // name, superadmin key id and IP were shown: review of 2026-12-01). /admin/audit-log keeps them.
    return view === 'tenant' && PLATFORM_ACTORS.has(r.actor_type) ? { ...e, actor_type: 'platform', actor_id: null, ip: null } : e;
  });
}

export function auditRoutes(app: App, ctx: AppContext): void {
  app.get('/v1/audit-log', {
    config: { scope: 'audit:read' },
    schema: { tags: ['audit'], summary: "The tenant's audit log, newest first", querystring: Query, response: { 200: Page(Entry), ...errorResponses } },
  }, async (req) => withTenant(ctx.db, tenantOf(req), (tx) => query(tx, req.query, 'tenant')));

  app.get('/admin/audit-log', {
    config: { auth: 'admin' },
    schema: { tags: ['admin'], summary: 'Audit log across tenants', querystring: Type.Object({ ...Query.properties, tenant: Type.Optional(Type.String({ maxLength: 100 })) }), response: { 200: Page(Entry), ...errorResponses } },
  }, async (req) => withPlatform(ctx.db, (tx) => query(tx, req.query, 'platform')));
}
