import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from '../core/runtime.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
// Serialises concurrent migrators (several processes starting at once) on one database.
const LOCK_KEY = 7_201_451_301;

export interface MigrateOptions {
  appRole: string;
  /** Set (or reset) the app role's password; omitted under trust auth. */
  appPassword?: string;
  logger: Logger;
}

export function migrationFiles(): string[] {
  return readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort();
}

const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;
const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Roles are cluster-wide, so several databases (parallel test runs) may race to create one. */
async function ensureAppRole(client: pg.Client, role: string, password: string | undefined): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const { rowCount } = await client.query('select 1 from pg_roles where rolname = $1', [role]);
      if (rowCount === 0) {
        await client.query(
          `create role ${ident(role)} login nosuperuser nobypassrls nocreatedb nocreaterole` +
            (password ? ` password ${literal(password)}` : ''),
        );
      } else if (password) {
        await client.query(`alter role ${ident(role)} with login password ${literal(password)}`);
      }
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      const retryable = code === '42710' || code === '23505' || code === 'XX000' || code === '40001';
      if (!retryable || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
    }
  }
}

/**
 * Applies pending migrations as the owner role, then (re)grants the app role exactly what it
 * needs: DML on tables (RLS decides which rows), EXECUTE on functions, nothing on the migration
 * ledger, no ownership. Returns the versions it applied.
 */
export async function migrate(ownerUrl: string, opts: MigrateOptions): Promise<string[]> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(
      'create table if not exists schema_migrations (version text primary key, applied_at timestamptz not null default now())',
    );
    const done = new Set((await client.query<{ version: string }>('select version from schema_migrations')).rows.map((r) => r.version));
    for (const file of migrationFiles()) {
      const version = file.replace(/\.sql$/, '');
      if (done.has(version)) continue;
      const sql = readFileSync(MIGRATIONS_DIR + file, 'utf8');
      await client.query('begin');
      try {
        await client.query(sql);
        await client.query('insert into schema_migrations (version) values ($1)', [version]);
        await client.query('commit');
      } catch (err) {
        await client.query('rollback');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(version);
      opts.logger.info({ version }, 'migration applied');
    }
    await ensureAppRole(client, opts.appRole, opts.appPassword);
    const db = (await client.query<{ db: string }>('select current_database() as db')).rows[0]!.db;
    const role = ident(opts.appRole);
    await client.query(`
      grant connect on database ${ident(db)} to ${role};
      grant usage on schema public to ${role};
      grant select, insert, update, delete on all tables in schema public to ${role};
      revoke all on schema_migrations from ${role};
      grant usage, select on all sequences in schema public to ${role};
      revoke execute on all functions in schema public from public;
      grant execute on all functions in schema public to ${role};
    `);
  } finally {
    await client.query('select pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
  return applied;
}

/** The app role's URL: same server and database as the owner URL, different user. */
export function appUrlFrom(ownerUrl: string, role: string, password: string | undefined): string {
  const u = new URL(ownerUrl);
  u.username = encodeURIComponent(role);
  u.password = password ? encodeURIComponent(password) : '';
  return u.toString();
}
