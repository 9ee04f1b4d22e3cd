import pg from 'pg';
import type { Command } from './main.js';
import { createRuntime } from '../app/root.js';
import { appConnectionProblems, tenancyChecks, type Check } from '../db/rls-check.js';
import { migrationFiles } from '../db/migrate.js';
import { readServerSettings, settingsChecks } from '../db/server-settings.js';
import { httpThreadNiceCheck } from '../app/priority.js';

/**
 * `switchboard doctor`: config, database, migrations, the PostgreSQL settings inbound load depends
 * on, role privileges and RLS, one line each (✔ passed, ! passed with advice, ✘ failed).
 */
export const doctor: Command = async (config) => {
  const checks: Check[] = [{ name: 'configuration', ok: true, detail: `${config.mode} mode, ${config.databaseUrl ? 'DATABASE_URL' : 'embedded PostgreSQL'}` }];
  const rt = await createRuntime({ ...config, logLevel: 'error' }, { migrate: false });
  try {
    const owner = new pg.Client({ connectionString: rt.ownerUrl });
    await owner.connect();
    try {
      const v = (await owner.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v;
      checks.push({ name: 'database reachable (owner)', ok: true, detail: `PostgreSQL ${v}` });
      const applied = new Set((await owner.query<{ version: string }>('select version from schema_migrations').catch(() => ({ rows: [] }))).rows.map((r) => r.version));
      const pending = migrationFiles().map((f) => f.replace(/\.sql$/, '')).filter((m) => !applied.has(m));
      checks.push({ name: 'migrations applied', ok: pending.length === 0, detail: pending.length ? `pending: ${pending.join(', ')} (run switchboard migrate)` : `${applied.size} applied` });
      checks.push(...settingsChecks(await readServerSettings(owner)).map((c) => ({ ...c, name: `PostgreSQL ${c.name}` })));
    } finally {
      await owner.end();
    }
    try {
      const { rows } = await rt.database.pool.query<{ u: string; n: number }>("select current_user as u, (select count(*) from channels)::int as n");
      checks.push({ name: 'database reachable (app role)', ok: rows[0]!.u === config.dbAppRole, detail: `connected as ${rows[0]!.u}` });
      checks.push({ name: 'no tenant set ⇒ no rows', ok: rows[0]!.n === 0, detail: rows[0]!.n === 0 ? 'channels reads 0 rows without app.tenant_id' : `${rows[0]!.n} rows visible without a tenant!` });
    } catch (err) {
      checks.push({ name: 'database reachable (app role)', ok: false, detail: (err as Error).message });
    }
    checks.push(...(await tenancyChecks(rt.ownerUrl, config.dbAppRole)));
    const bypass = await appConnectionProblems(rt.appUrl);
    checks.push({ name: 'the app connection is subject to row-level security', ok: bypass.length === 0, detail: bypass.join('; ') || 'ok' });
    const shared = rt.ctx.sharedCounters;
    if (shared) {
      const where = new URL(config.redisUrl!).host;
      checks.push(await shared.ping().then(
        () => ({ name: 'redis reachable', ok: true, detail: `${where}: API rate limits are counted across processes` }),
        (err: Error) => ({ name: 'redis reachable', ok: false, detail: `${where}: ${err.message} (API rate limits are counted per process meanwhile)` }),
      ));
    }
  } finally {
    await rt.close();
  }
  checks.push(httpThreadNiceCheck(config.httpThreadNice));
  for (const c of checks) process.stdout.write(`${!c.ok ? '✘' : c.warn ? '!' : '✔'} ${c.name}: ${c.detail}\n`);
  const failed = checks.filter((c) => !c.ok).length;
  process.stdout.write(failed ? `\n${failed} check(s) failed\n` : `\nall ${checks.length} checks passed\n`);
  return failed ? 1 : 0;
};
