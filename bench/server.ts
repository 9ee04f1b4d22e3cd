/**
 * One Switchboard process of a benchmark, started as a child so it owns its event loop (the load
 * generator, the provider simulator and other Switchboard processes run in processes of their own,
 * as they would in a deployment). argv[2] is JSON:
 *   { mode: 'bare' }                                   a bare Fastify route answering 200/202
 *   { mode: 'switchboard', appUrl, ownerUrl?, masterKey, role, poolSize, http, inbound, scheduler? }
 * Prints `PORT <n>` (0 when it serves no HTTP) once ready; SIGTERM stops it cleanly.
 */
import Fastify from 'fastify';
import pino from 'pino';
import { parseConfig } from '../src/core/config.js';
import { startScheduler } from '../src/delivery/scheduler.js';
import { createAppContext } from '../src/app/root.js';
import { serveHttp } from '../src/app/serve.js';
import { startWorkers } from '../src/app/workers.js';

interface Opts {
  mode: 'switchboard' | 'bare';
  appUrl: string;
  /** The schema owner's URL, as `switchboard start` has it (VACUUM of the queue tables, decision 033). */
  ownerUrl?: string;
  masterKey: string;
  role: string;
  poolSize: number;
  /** Serve the HTTP API (the `serve` role). */
  http?: boolean;
  /** Run the inbound worker (inbox drain, tenant webhook deliveries). */
  inbound?: boolean;
  /** Run the delivery scheduler with these options (and, as `switchboard work` does, the statistics worker). */
  scheduler?: { concurrency: number; leaseMs: number };
  providerTimeoutMs?: number;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as Opts;

if (opts.mode === 'bare') {
  const app = Fastify({ logger: false });
  app.post('/*', async (_req, reply) => reply.status(_req.url.startsWith('/webhooks') ? 200 : 202).send({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(`PORT ${(app.server.address() as { port: number }).port}`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
} else {
  const config = parseConfig({ MASTER_KEY: opts.masterKey, EGRESS_ALLOW_PRIVATE: 'true', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', DB_APP_ROLE: opts.role, DB_POOL_SIZE: String(opts.poolSize), BODY_LIMIT_BYTES: String(8 * 1024 * 1024), INBOUND_THREAD: process.env.INBOUND_THREAD ?? 'true', HTTP_THREAD_NICE: process.env.HTTP_THREAD_NICE }, {});
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  const { ctx, close } = createAppContext({ config, appUrl: opts.appUrl, ownerUrl: opts.ownerUrl, logger, providerTimeoutMs: opts.providerTimeoutMs ?? 5000 });
  const stops: (() => Promise<void>)[] = [];
  let port = 0;
  if (opts.http) {
    const served = await serveHttp(ctx, opts.appUrl, config, { port: 0, host: '127.0.0.1' });
    // Request logging off: the bench measures the pipeline, not pino writing 2 lines per request.
    served.app.log.level = 'warn';
    port = served.port;
    stops.push(() => served.app.close());
  }
  // Of `switchboard start`'s workers: the inbox drain and event deliveries, and beside a scheduler
  // started with the bench's own concurrency (as `switchboard work` runs one), the statistics and
  // queue-vacuum workers.
  if (opts.scheduler) {
    const s = startScheduler(ctx, opts.scheduler);
    stops.push(() => s.stop(5000));
  }
  if (opts.inbound || opts.scheduler) stops.push(startWorkers(ctx, [...(opts.inbound ? ['inbound-events'] : []), 'statistics', 'queue-vacuum']));
  console.log(`PORT ${port}`);
  process.on('SIGTERM', () => {
    void (async () => {
      for (const s of stops.reverse()) await s();
      await close();
      process.exit(0);
    })();
  });
}
