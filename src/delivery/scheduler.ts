import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { DEFAULT_RETRY, type RetryPolicy } from './backoff.js';
import { createProcessor, expireUnclaimed, type ClaimedJob } from './process.js';
import { settlesWithin } from '../core/runtime.js';

export interface SchedulerOptions {
  /** Lease on a claimed job; renewed every third of it. ≤ 30 s so a killed worker's jobs move on quickly. */
  leaseMs: number;
  /** Sends in flight per process. 64: at ~20 ms per provider call that is ~3,000 msg/s per process. */
  concurrency: number;
  /** Sleep when nothing was claimable. 50 ms keeps a new message's wait far under a second. */
  idleMs: number;
  retry: RetryPolicy;
  /** Worker identity in leases; unique per process start. */
  workerId: string;
}

export const DEFAULT_SCHEDULER: SchedulerOptions = {
  leaseMs: 15_000,
  concurrency: 64,
  idleMs: 50,
  retry: DEFAULT_RETRY,
  workerId: '',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Scheduler {
  /** Resolves once in-flight sends finished (or `graceMs` passed; unfinished leases are released). */
  stop(graceMs?: number): Promise<void>;
  readonly workerId: string;
  inFlight(): number;
}

/**
 * The delivery loop of one process. Claims through `sb_claim_jobs` (the only cross-tenant step:
 * a SECURITY DEFINER function returning ids), processes each job in its tenant's transaction,
 * heartbeats leases, and survives database outages: errors back off up to 2 s and the loop goes
 * on, so delivery resumes by itself after PostgreSQL comes back.
 */
export function startScheduler(ctx: AppContext, opts: Partial<SchedulerOptions> = {}): Scheduler {
  const o: SchedulerOptions = { ...DEFAULT_SCHEDULER, ...opts, retry: { ...DEFAULT_RETRY, ...opts.retry } };
  const workerId = o.workerId || `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const log = ctx.logger.child({ worker: workerId, role: 'delivery' });
  const processor = createProcessor(ctx, { worker: workerId, retry: o.retry });
  const inflight = new Map<string, Promise<void>>();
  let stopping = false;
  let wake: (() => void) | undefined;

  const run = (jobs: ClaimedJob[]) => {
    const promises = processor.processJobs(jobs);
    jobs.forEach((job, i) => {
      const p = promises[i]!
        .catch((err: unknown) => log.warn({ err, message_id: job.message_id }, 'delivery attempt failed; the lease will expire and the job be retried'))
        .finally(() => {
          inflight.delete(job.message_id);
          wake?.();
        });
      inflight.set(job.message_id, p);
    });
  };

  const loop = async () => {
    let errors = 0;
    while (!stopping) {
      const free = o.concurrency - inflight.size;
      if (free <= 0) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      try {
        const { rows } = await sql<ClaimedJob>`select * from sb_claim_jobs(${workerId}, ${free}, ${o.leaseMs})`.execute(ctx.db);
        errors = 0;
        if (rows.length > 0) run(rows);
        if (rows.length === 0) await sleep(o.idleMs);
        else if (rows.length < free) await sleep(Math.min(10, o.idleMs)); // tokens, not work, are short: let buckets refill
      } catch (err) {
        errors += 1;
        const wait = Math.min(2000, 100 * 2 ** Math.min(errors, 5));
        if (errors === 1 || errors % 20 === 0) log.warn({ err, wait }, 'claiming delivery jobs failed; retrying');
        await sleep(wait);
      }
    }
  };

  const heartbeat = setInterval(() => {
    if (inflight.size === 0) return;
    // Rows locked by our own result writes are skipped, not waited for: they are being finished.
    sql`select sb_renew_leases(${workerId}, ${[...inflight.keys()]}, ${o.leaseMs})`
      .execute(ctx.db)
      .catch((err: unknown) => log.warn({ err }, 'lease heartbeat failed'));
  }, Math.max(100, Math.floor(o.leaseMs / 3)));
  heartbeat.unref();

  // Jobs nobody claims (held lines) still expire at the maximum age. The check scans the queue
  // table: every quarter of the age, at most every 10 minutes (a day's message expires that late).
  let expiring: Promise<unknown> = Promise.resolve();
  const expiry = setInterval(() => {
    expiring = expireUnclaimed(ctx, o.retry.maxAgeMs).then(
      (n) => n > 0 && log.info({ messages: n }, 'held messages past the maximum age failed as expired'),
      (err: unknown) => log.warn({ err }, 'expiring held messages failed; next round retries'),
    );
  }, Math.min(600_000, Math.max(500, Math.floor(o.retry.maxAgeMs / 4))));
  expiry.unref();

  const done = loop();
  log.info({ lease_ms: o.leaseMs, concurrency: o.concurrency }, 'delivery scheduler started');
  return {
    workerId,
    inFlight: () => inflight.size,
    async stop(graceMs = 10_000) {
      stopping = true;
      wake?.();
      await done;
      if (!(await settlesWithin(Promise.all(inflight.values()), graceMs)) && inflight.size > 0) {
        await sql`select sb_release_leases(${workerId}, ${[...inflight.keys()]})`.execute(ctx.db).catch(() => undefined);
      }
      clearInterval(heartbeat);
      clearInterval(expiry);
      await expiring;
    },
  };
}
