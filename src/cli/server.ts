import type { Command } from './main.js';
import type { Config } from '../core/config.js';
import { args, portArg } from './io.js';
import { createRuntime, type Runtime } from '../app/root.js';
import { startWorkers } from '../app/workers.js';
import { publicBaseUrl } from '../app/urls.js';
import { ensureDemo } from '../app/demo.js';
import { serveHttp } from '../app/serve.js';

async function firstRunHint(rt: Runtime): Promise<string | undefined> {
  const admin = await rt.ctx.db.selectFrom('users').select('id').where('is_superadmin', '=', true).executeTakeFirst();
  if (admin) return undefined;
  return [
    'No superadmin exists yet. Create one (in another terminal) with:',
    '  npm run -s switchboard -- superadmin create --email you@example.com',
    'then sign in at POST /auth/login, or make a superadmin API key with `superadmin key`.',
    'To try it with no provider account: npm start -- --demo (a demo tenant with a simulated line).',
  ].join('\n');
}

function onShutdown(fn: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stderr.write(`\n${signal}: shutting down…\n`);
    fn().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`shutdown error: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

async function run(config: Readonly<Config>, argv: string[], roles: { http: boolean; work: boolean }): Promise<number | void> {
  const { values } = args(argv, { port: { type: 'string' }, demo: { type: 'boolean' } });
  const port = portArg(values.port, config.port);
  const cfg = { ...config, port };
  const rt = await createRuntime(cfg);
  const stops: (() => Promise<void>)[] = [];
  if (roles.http) {
    const { app } = await serveHttp(rt.ctx, rt.appUrl, cfg, { port, host: cfg.host });
    stops.push(() => app.close());
    const base = publicBaseUrl(cfg);
    const lines = [
      `Switchboard is serving on http://${cfg.host}:${port}  (${rt.embedded ? `embedded PostgreSQL on 127.0.0.1:${rt.embedded.port}, data in ${cfg.dataDir}` : 'PostgreSQL from DATABASE_URL'})`,
      `  API docs   ${base}/docs      OpenAPI  ${base}/openapi.json`,
      `  health     ${base}/healthz   ready    ${base}/readyz`,
    ];
    const hint = await firstRunHint(rt);
    if (hint && !values.demo) lines.push('', hint);
    if (values.demo) lines.push(await ensureDemo(rt.ctx, base));
    process.stdout.write(lines.join('\n') + '\n');
  }
  if (roles.work) stops.push(startWorkers(rt.ctx));
  onShutdown(async () => {
    for (const s of stops.reverse()) await s();
    await rt.close();
  });
  await new Promise(() => undefined); // run until a signal
}

export const serverCommands: Record<string, Command> = {
  start: (c, a) => run(c, a, { http: true, work: true }),
  serve: (c, a) => run(c, a, { http: true, work: false }),
  work: (c, a) => run(c, a, { http: false, work: true }),
  migrate: async (config) => {
    const rt = await createRuntime(config);
    process.stdout.write('migrations applied; database is up to date\n');
    await rt.close();
  },
};
