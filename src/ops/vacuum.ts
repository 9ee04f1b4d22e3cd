import pg from 'pg';
import type { Logger } from 'pino';
import type { AppContext } from '../app/context.js';
import type { Worker } from '../app/workers.js';
import { periodic } from '../app/periodic.js';
import { connectionsClosed } from '../db/db.js';

/**
 * Queue tables: rows are written, then deleted or rewritten within seconds (the inbox, outbound
 * delivery jobs, tenant webhook deliveries). Left alone they only grow: every insert takes a new
 * page (on a busy database, evicting a dirty one) while the processed rows' space is never reused
 * (decision 033).
 */
export const QUEUE_TABLES = ['inbox', 'delivery_jobs', 'event_deliveries'] as const;
export type QueueTable = (typeof QUEUE_TABLES)[number];

/**
 * Checked every EVERY_MS. At the inbound bench's half load (~4,000 webhooks/s) that vacuums the
 * inbox every 2 s at ~25 ms a time; a line with a message a minute has its queue rows vacuumed
 * once a thousand have died.
 */
const EVERY_MS = 2_000;
const MIN_DEAD = 1_000;

/**
 * The one thing Switchboard does as the schema owner while it runs: VACUUM (which PostgreSQL before
 * 17 allows only the owner) of the queue tables, by a fixed list. The application role still owns
 * nothing and reads and writes every tenant row as before; this connection never touches a row.
 */
export interface Maintenance {
  /** Dead and live row estimates of the queue tables (PostgreSQL's statistics: up to ~1 s old). */
  rowCounts(): Promise<{ table: QueueTable; dead: number; live: number }[]>;
  /** VACUUM (SKIP_LOCKED) of one queue table: another process already vacuuming it is not waited for. */
  vacuum(table: QueueTable): Promise<void>;
  close(): Promise<void>;
}

/** A Maintenance over the owner's database URL: one connection at most, opened when first needed. */
export function ownerMaintenance(ownerUrl: string, logger: Logger): Maintenance {
  const pool = new pg.Pool({ connectionString: ownerUrl, max: 1, idleTimeoutMillis: 30_000, application_name: 'switchboard-maintenance' });
  pool.on('error', (err) => logger.warn({ err: err.message }, 'maintenance connection lost'));
  const closed = connectionsClosed(pool);
  return {
    rowCounts: async () => {
      const { rows } = await pool.query<{ table: QueueTable; dead: string; live: string }>(
        `select relname as table, n_dead_tup as dead, n_live_tup as live from pg_stat_user_tables where schemaname = 'public' and relname = any($1)`,
        [QUEUE_TABLES],
      );
      return rows.map((r) => ({ table: r.table, dead: Number(r.dead), live: Number(r.live) }));
    },
    vacuum: async (table) => {
      if (!QUEUE_TABLES.includes(table)) throw new Error(`not a queue table: ${table}`);
      await pool.query(`vacuum (skip_locked) ${table}`);
    },
    close: async () => {
      await pool.end();
      await closed();
    },
  };
}

/**
 * Vacuums every queue table with at least `minDead` dead rows and at least a quarter as many dead as
 * live ones (a backlog of live rows is not worth rescanning for a few dead ones). Returns them.
 */
export async function vacuumQueues(m: Maintenance, minDead = MIN_DEAD): Promise<QueueTable[]> {
  const due = (await m.rowCounts()).filter((r) => r.dead >= minDead && r.dead * 4 >= r.live).map((r) => r.table);
  for (const table of due) await m.vacuum(table);
  return due;
}

export const queueVacuumWorker: Worker = {
  name: 'queue-vacuum',
  start: (ctx: AppContext) => {
    const m = ctx.maintenance;
    // Without the owner's URL (a context built on the application role alone), autovacuum is all there is.
    if (!m) return async () => undefined;
    return periodic(ctx, 'queue-vacuum', { firstMs: EVERY_MS, everyMs: EVERY_MS }, async () => {
      const t0 = performance.now();
      const tables = await vacuumQueues(m);
      if (tables.length > 0) ctx.logger.debug({ tables, ms: Math.round(performance.now() - t0) }, 'queue tables vacuumed');
    });
  },
};
