import pg from 'pg';

/**
 * Reads the catalog (not a hand-kept list of tenant tables) to prove the tenancy invariants: every
 * table in the schema is a tenant table — RLS enabled and forced, `tenant_id` leading its primary
 * key — unless it is one of the few control-plane tables below, which hold no tenant's data and are
 * read before any tenant is known. A new table is therefore a tenant table unless someone decides
 * otherwise here, in review. The app role must be neither superuser, BYPASSRLS, nor owner.
 * Used by `switchboard doctor` and by the test suite.
 */
export const CONTROL_PLANE_TABLES = [
  'schema_migrations',
  'plans',
  'users', // global identities; membership (tenant data) is in `memberships`
  'dashboard_sessions',
  'admin_keys',
  // Webhooks no tenant owns (unroutable, bad signature): provider, reason, routing keys, body size and
  // hash only — never the body — so an operator can see them without reading anyone's data.
  'inbound_rejects',
];

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** Passes, with advice worth reading (`!` in doctor's output). */
  warn?: boolean;
}

export async function tenancyChecks(ownerUrl: string, appRole: string): Promise<Check[]> {
  const c = new pg.Client({ connectionString: ownerUrl });
  await c.connect();
  try {
    const checks: Check[] = [];
    const role = (await c.query<{ rolsuper: boolean; rolbypassrls: boolean }>('select rolsuper, rolbypassrls from pg_roles where rolname = $1', [appRole])).rows[0];
    checks.push({ name: `app role ${appRole} exists`, ok: Boolean(role), detail: role ? 'present' : 'missing: run `switchboard migrate`' });
    if (role) {
      checks.push({ name: 'app role is not superuser', ok: !role.rolsuper, detail: role.rolsuper ? 'SUPERUSER bypasses row-level security' : 'ok' });
      checks.push({ name: 'app role lacks BYPASSRLS', ok: !role.rolbypassrls, detail: role.rolbypassrls ? 'BYPASSRLS set' : 'ok' });
    }
    const owned = (await c.query<{ relname: string }>(
      `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r','p') and pg_get_userbyid(c.relowner) = $1`, [appRole])).rows;
    checks.push({ name: 'app role owns no table', ok: owned.length === 0, detail: owned.length ? owned.map((r) => r.relname).join(', ') : 'ok' });
    const tables = (await c.query<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean; pk_first: string | null }>(
      `select c.relname, c.relrowsecurity, c.relforcerowsecurity,
              (select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                where i.indrelid = c.oid and i.indisprimary) as pk_first
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r','p')
         and not (c.relname = any($1))
       order by c.relname`, [CONTROL_PLANE_TABLES])).rows;
    for (const t of tables) {
      const keyCol = t.relname === 'tenants' ? 'id' : 'tenant_id';
      const problems = [
        !t.relrowsecurity && 'RLS not enabled',
        !t.relforcerowsecurity && 'RLS not forced',
        t.pk_first !== keyCol && `primary key starts with ${t.pk_first ?? 'nothing'}, not ${keyCol}`,
      ].filter(Boolean);
      checks.push({ name: `tenant table ${t.relname}`, ok: problems.length === 0, detail: problems.join('; ') || 'RLS enabled and forced, tenant_id leads the key' });
    }
    return checks;
  } finally {
    await c.end();
  }
}

/** Names of every tenant table, from the catalog. */
export async function tenantTables(ownerUrl: string): Promise<string[]> {
  const checks = await tenancyChecks(ownerUrl, '__none__');
  return checks.filter((c) => c.name.startsWith('tenant table ')).map((c) => c.name.slice('tenant table '.length));
}

/**
 * What makes a live connection see every tenant's rows: a superuser, BYPASSRLS, or the role that owns
 * the tables (the `owner_all` policies let it through). `tenancyChecks` inspects DB_APP_ROLE by name;
 * this asks the connection the app really uses (APP_DATABASE_URL may name any role). Empty when confined.
 */
export async function appConnectionProblems(appUrl: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: appUrl });
  await c.connect();
  try {
    const r = (await c.query<{ user: string; rolsuper: boolean; rolbypassrls: boolean; owns: boolean }>(
      `select current_user as user, r.rolsuper, r.rolbypassrls,
              exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                      where n.nspname = 'public' and c.relkind in ('r','p') and c.relowner = r.oid) as owns
       from pg_roles r where r.rolname = current_user`)).rows[0]!;
    return [
      r.rolsuper && `${r.user} is a superuser`,
      r.rolbypassrls && `${r.user} has BYPASSRLS`,
      r.owns && `${r.user} owns the tables`,
    ].filter((p): p is string => Boolean(p));
  } finally {
    await c.end();
  }
}
