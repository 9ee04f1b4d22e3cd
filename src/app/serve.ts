import type { FastifyInstance } from 'fastify';
import type { Config } from '../core/config.js';
import type { AppContext } from './context.js';
import { buildApp } from '../http/app.js';
import { useInboundThread } from '../inbound/pipeline.js';
import { setHttpThreadNice } from './priority.js';

/**
 * The HTTP role as `switchboard start` and `serve` run it, and the benchmarks' Switchboard processes
 * with them: the acknowledging thread's priority (decision 039; after an embedded PostgreSQL has
 * started, since a child process inherits its parent thread's nice value and the database's backends
 * are to keep theirs), inbound processing on a thread of its own (decision 030), then the app
 * listening. `port` 0 takes a free port; the one bound is returned.
 */
export async function serveHttp(
  ctx: AppContext,
  appUrl: string,
  cfg: Pick<Readonly<Config>, 'httpThreadNice' | 'inboundThread' | 'mode'>,
  listen: { port: number; host: string },
): Promise<{ app: FastifyInstance; port: number }> {
  setHttpThreadNice(cfg.httpThreadNice, ctx.logger, undefined, cfg.mode === 'production' ? 'info' : 'debug');
  if (cfg.inboundThread) useInboundThread(ctx, appUrl);
  const app = await buildApp(ctx);
  await app.listen(listen);
  return { app, port: (app.server.address() as { port: number }).port };
}
