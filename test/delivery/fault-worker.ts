/**
 * A delivery worker as its own OS process, for the SIGKILL fault test (spawned with
 * `node --import tsx test/delivery/fault-worker.ts`). Reads its wiring from the environment the
 * test sets: SB_WORKER_DB (app-role URL), MASTER_KEY, SB_WORKER_LEASE_MS, SB_WORKER_ID.
 * Prints "ready" once its scheduler runs; runs until killed or sent SIGTERM.
 */
import pino from 'pino';
import { parseConfig } from '../../src/core/config.js';
import { startScheduler } from '../../src/delivery/scheduler.js';
import { createAppContext } from '../../src/app/root.js';

const env = process.env;
const config = parseConfig({ MASTER_KEY: env.MASTER_KEY!, EGRESS_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'warn', DB_POOL_SIZE: '12' });
const logger = pino({ level: 'warn' }, pino.destination(2));
// A generous provider timeout: a send that times out is ambiguous and retried, i.e. a possible duplicate.
const { ctx, database } = createAppContext({ config, appUrl: env.SB_WORKER_DB!, logger, providerTimeoutMs: 15_000, onPoolError: (err) => logger.warn({ err }, 'pool error') });
const s = startScheduler(ctx, {
  leaseMs: Number(env.SB_WORKER_LEASE_MS ?? 2000),
  workerId: env.SB_WORKER_ID ?? '',
  concurrency: Number(env.SB_WORKER_CONCURRENCY ?? 32),
  retry: { baseDelayMs: 200, maxDelayMs: 2000, maxAgeMs: 10 * 60_000 },
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void s.stop(2000).then(() => database.close()).then(() => process.exit(0));
});
