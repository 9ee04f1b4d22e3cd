/**
 * Server half of `npm run bench:inbound`, run as a child process so the load generator does not
 * share its event loop. argv[2] = JSON { mode: 'switchboard' | 'bare', appUrl, masterKey, poolSize }.
 * Prints `PORT <n>` when listening.
 */
import Fastify from 'fastify';
import pino from 'pino';
import { parseConfig } from '../src/core/config.js';
import { buildApp } from '../src/http/app.js';
import { inboundWorker } from '../src/inbound/worker.js';
import { createAppContext } from '../src/app/root.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as { mode: 'switchboard' | 'bare'; appUrl: string; masterKey: string; poolSize: number; role: string };

if (opts.mode === 'bare') {
  const app = Fastify({ logger: false });
  app.post('/webhooks/cloud-api', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(`PORT ${(app.server.address() as { port: number }).port}`);
} else {
  const config = parseConfig({ MASTER_KEY: opts.masterKey, EGRESS_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'warn', DB_APP_ROLE: opts.role, DB_POOL_SIZE: String(opts.poolSize) }, {});
  const logger = pino({ level: 'warn' });
  const { ctx, database } = createAppContext({ config, appUrl: opts.appUrl, logger, providerTimeoutMs: 3000 });
  const app = await buildApp(ctx);
  // Request logging off: the bench measures the pipeline, not pino writing 2 lines per request.
  app.log.level = 'warn';
  await app.listen({ port: 0, host: '127.0.0.1' });
  const stop = inboundWorker.start(ctx);
  console.log(`PORT ${(app.server.address() as { port: number }).port}`);
  process.on('SIGTERM', () => void stop().then(() => app.close()).then(() => database.close()).then(() => process.exit(0)));
}
