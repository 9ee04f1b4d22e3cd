import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.js';

/** A tenant id that has been taken from a verified credential (never from request input). */
export type TenantId = string & { readonly __brand: 'TenantId' };
export const asTenantId = (id: string): TenantId => id as TenantId;

export type Db = Kysely<DB>;
export type Tx = Transaction<DB>;

// int8 → number (counts); timestamps stay Date.
pg.types.setTypeParser(20, (v) => Number(v));

export interface Database {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function openDatabase(url: string, poolSize: number, onError?: (err: Error) => void): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  // A connection lost while idle (pool 'error') or while checked out (client 'error': pg-pool drops
  // its own listener from a client in use) must not crash the process; the query in flight fails
  // and the API answers 503 (decision 015).
  pool.on('error', (err) => onError?.(err));
  pool.on('connect', (client) => client.on('error', (err) => onError?.(err)));
  const closed = connectionsClosed(pool);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    pool,
    close: async () => {
      await db.destroy();
      await closed();
    },
  };
}

/**
 * For a pool about to be ended: resolves once every connection it opened has closed (at most
 * `timeoutMs`). pg-pool's `end()` resolves as soon as it has asked its connections to close, before
 * the server has seen them go; a server stopped right after (the embedded one, at shutdown) then
 * terminated them and each logged "connection lost" — about one shutdown in four a second after
 * start, with the workers' connections fresh.
 */
export function connectionsClosed(pool: pg.Pool, timeoutMs = 3_000): () => Promise<void> {
  const open = new Set<pg.Client>();
  const waiting = new Set<() => void>();
  pool.on('connect', (client) => {
    open.add(client);
    client.once('end', () => {
      open.delete(client);
      if (open.size === 0) for (const done of waiting) done();
    });
  });
  return () =>
    open.size === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            waiting.delete(done);
            resolve();
          };
          const timer = setTimeout(done, timeoutMs);
          waiting.add(done);
        });
}

/**
 * Runs `fn` in a transaction scoped to one tenant: `app.tenant_id` is set transaction-locally
 * (`set_config(…, true)`), so it ends with the transaction and cannot leak to the next borrower of
 * the pooled connection. Row-level security does the rest.
 */
export function withTenant<T>(db: Db, tenantId: TenantId, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await sql`select set_config('app.tenant_id', ${tenantId}, true)`.execute(tx);
    return fn(tx);
  });
}

/** Superadmin transaction: may read platform-readable tenant tables across tenants. */
export function withPlatform<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await sql`select set_config('app.platform', 'on', true)`.execute(tx);
    return fn(tx);
  });
}

/** PostgreSQL / connection errors that mean "database unavailable right now" (→ 503). */
/**
 * PostgreSQL refused a value the client sent, not our SQL: a NUL character (text and jsonb cannot
 * hold one: 22021, 22P05), half a surrogate pair in jsonb, or a date that does not exist (22007, 22008). Input validation catches
 * what it can; this is the backstop that keeps such input a 400, not a 500.
 */
export function isRejectedValue(err: unknown): boolean {
  const e = err as { code?: unknown; detail?: unknown } | null;
  if (typeof e?.code !== 'string') return false;
  // jsonb refuses half a surrogate pair as invalid input syntax (22P02), which our own casts could
  // also raise: only the Unicode case is the client's.
  if (e.code === '22P02') return /Unicode|surrogate/i.test(String(e.detail ?? ''));
  // 22003: a number past its column's range (an integer column given 2^31).
  return ['22021', '22P05', '22007', '22008', '22003'].includes(e.code);
}

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (!e || typeof e !== 'object') return false;
  const codes = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', '53300'];
  if (e.code && codes.includes(e.code)) return true;
  const m = e.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|connection timeout|Client has encountered a connection error/i.test(m);
}
