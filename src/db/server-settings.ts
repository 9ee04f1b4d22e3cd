import type pg from 'pg';
import type { Check } from './rls-check.js';

/**
 * PostgreSQL server settings that decide how inbound load behaves, read by `switchboard doctor`
 * (decision 037). Advice, not failures: the settings are the operator's, and the right values
 * depend on the load.
 *
 * Inbound webhooks write ~4.0–5.5 KB of WAL each once processed (inbox row, message, event,
 * contact and conversation changes with their indexes; `npm run bench:inbound`, 2026-11-30). When
 * the WAL since the last checkpoint reaches max_wal_size / (1 + checkpoint_completion_target),
 * PostgreSQL starts a checkpoint before checkpoint_timeout; after each start, the next change to
 * every page logs the whole page, and the bench's acknowledge tails were longer in the seconds
 * that followed.
 */
export const WAL_BYTES_PER_WEBHOOK = 5_000;

export interface ServerSettings {
  maxWalSizeMb: number;
  checkpointTimeoutS: number;
  checkpointCompletionTarget: number;
  walCompression: string;
  autovacuum: boolean;
}

/** The sustained webhook rate above which the WAL, not checkpoint_timeout, paces checkpoints. */
export function walPacedAbove(s: ServerSettings): number {
  const walPerCheckpoint = (s.maxWalSizeMb * 1024 * 1024) / (1 + s.checkpointCompletionTarget);
  return walPerCheckpoint / s.checkpointTimeoutS / WAL_BYTES_PER_WEBHOOK;
}

/** One line per setting: `warn` where the setting works against a sustained inbound load. */
export function settingsChecks(s: ServerSettings): Check[] {
  const paced = Math.round(walPacedAbove(s));
  const checks: Check[] = [
    {
      name: 'checkpoints',
      ok: true,
      detail: `max_wal_size ${s.maxWalSizeMb} MB, checkpoint_timeout ${s.checkpointTimeoutS} s: above ~${paced} webhooks/s sustained (~${WAL_BYTES_PER_WEBHOOK / 1000} KB of WAL each), checkpoints come sooner than every ${s.checkpointTimeoutS} s, and acknowledge tails lengthen for seconds after each; raise max_wal_size for a higher rate`,
    },
    s.walCompression === 'off'
      ? { name: 'wal_compression', ok: true, warn: true, detail: 'off: the full-page images logged after each checkpoint were a fifth of the inbound WAL in the bench; lz4 (or pglz) shrinks them' }
      : { name: 'wal_compression', ok: true, detail: s.walCompression },
    s.autovacuum
      ? { name: 'autovacuum', ok: true, detail: 'on' }
      : { name: 'autovacuum', ok: true, warn: true, detail: 'off: Switchboard vacuums only its queue tables (decision 033); messages, conversations and events are never vacuumed or analyzed by the server' },
  ];
  return checks;
}

export async function readServerSettings(db: pg.Client): Promise<ServerSettings> {
  const { rows } = await db.query<{ name: string; setting: string }>(
    `select name, setting from pg_settings where name in ('max_wal_size', 'checkpoint_timeout', 'checkpoint_completion_target', 'wal_compression', 'autovacuum')`,
  );
  const v = new Map(rows.map((r) => [r.name, r.setting]));
  return {
    maxWalSizeMb: Number(v.get('max_wal_size')), // pg_settings gives it in MB
    checkpointTimeoutS: Number(v.get('checkpoint_timeout')),
    checkpointCompletionTarget: Number(v.get('checkpoint_completion_target')),
    walCompression: v.get('wal_compression') ?? 'off',
    autovacuum: v.get('autovacuum') === 'on',
  };
}
