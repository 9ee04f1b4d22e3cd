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
class Unreachable extends Error {}

/** A probe that throws is a failed check (with what to do), never a crash that hides the other checks. */
async function probe(name: string, hint: string, run: () => Promise<Check[]>): Promise<Check[]> {
  try {
    return await run();
  } catch (err) {
    return [{ name, ok: false, detail: `${(err as Error)?.message ?? String(err)} (${hint})` }];
  }
}

export const doctor: Command = async (config) => {
  const checks: Check[] = [{ name: 'configuration', ok: true, detail: `${config.mode} mode, ${config.databaseUrl ? 'DATABASE_URL' : 'embedded PostgreSQL'}` }];
  let rt: Awaited<ReturnType<typeof createRuntime>> | undefined;
  checks.push(...(await probe('database reachable', 'check DATABASE_URL, or run `switchboard migrate` once for the embedded database', async () => {
    rt = await createRuntime({ ...config, logLevel: 'error' }, { migrate: false });
    return [];
  })));
  if (rt) {
    const r = rt;
    try {
      const ownerChecks = await probe('database reachable (owner)', 'check DATABASE_URL', async () => {
        const out: Check[] = [];
        const owner = new pg.Client({ connectionString: r.ownerUrl });
        await owner.connect();
        try {
          const v = (await owner.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v;
          out.push({ name: 'database reachable (owner)', ok: true, detail: `PostgreSQL ${v}` });
          const applied = new Set((await owner.query<{ version: string }>('select version from schema_migrations').catch(() => ({ rows: [] }))).rows.map((x) => x.version));
          const pending = migrationFiles().map((f) => f.replace(/\.sql$/, '')).filter((m) => !applied.has(m));
          out.push({ name: 'migrations applied', ok: pending.length === 0, detail: pending.length ? `pending: ${pending.join(', ')} (run switchboard migrate)` : `${applied.size} applied` });
          out.push(...settingsChecks(await readServerSettings(owner)).map((c) => ({ ...c, name: `PostgreSQL ${c.name}` })));
        } finally {
          await owner.end();
        }
        return out;
      });
      checks.push(...ownerChecks);
      // Without the server the checks below can only fail the same way.
      if (ownerChecks[0]?.ok === false) throw new Unreachable();
      const appHint = 'check APP_DATABASE_URL / DB_APP_PASSWORD; `switchboard migrate` creates the app role';
      checks.push(...(await probe('database reachable (app role)', appHint, async () => {
        const { rows } = await r.database.pool.query<{ u: string; n: number }>('select current_user as u, (select count(*) from channels)::int as n');
        return [
          { name: 'database reachable (app role)', ok: rows[0]!.u === config.dbAppRole, detail: `connected as ${rows[0]!.u}` },
          { name: 'no tenant set ⇒ no rows', ok: rows[0]!.n === 0, detail: rows[0]!.n === 0 ? 'channels reads 0 rows without app.tenant_id' : `${rows[0]!.n} rows visible without a tenant!` },
        ];
      })));
      checks.push(...(await probe('role privileges and row-level security', 'run `switchboard migrate`', () => tenancyChecks(r.ownerUrl, config.dbAppRole))));
      checks.push(...(await probe('the app connection is subject to row-level security', appHint, async () => {
        const bypass = await appConnectionProblems(r.appUrl);
        return [{ name: 'the app connection is subject to row-level security', ok: bypass.length === 0, detail: bypass.join('; ') || 'ok' }];
      })));
      const shared = r.ctx.sharedCounters;
      if (shared) {
        const where = new URL(config.redisUrl!).host;
        checks.push(await shared.ping().then(
          () => ({ name: 'redis reachable', ok: true, detail: `${where}: API rate limits are counted across processes` }),
          (err: Error) => ({ name: 'redis reachable', ok: false, detail: `${where}: ${err.message} (API rate limits are counted per process meanwhile)` }),
        ));
      }
    } catch (err) {
      if (!(err instanceof Unreachable)) throw err;
    } finally {
      await r.close();
    }
  }
  checks.push(httpThreadNiceCheck(config.httpThreadNice));
  for (const c of checks) process.stdout.write(`${!c.ok ? '✘' : c.warn ? '!' : '✔'} ${c.name}: ${c.detail}\n`);
  const failed = checks.filter((c) => !c.ok).length;
  process.stdout.write(failed ? `\n${failed} check(s) failed\n` : `\nall ${checks.length} checks passed\n`);
  return failed ? 1 : 0;
};
