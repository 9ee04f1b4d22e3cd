/**
 * `npm test`: finds every `*.test.ts`, decides which PostgreSQL the suite uses, and runs node's test
 * runner. Database choice, in order:
 *   1. SB_TEST_DB=embedded  → always boot a private embedded PostgreSQL (proves "no server" works);
 *   2. TEST_DATABASE_URL    → that server (an admin URL: tests create and drop their own databases);
 *   3. postgres://postgres@127.0.0.1:5432/postgres if it answers;
 *   4. otherwise a private embedded PostgreSQL, stopped at the end.
 * Extra arguments are test file filters (substring match on the path).
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.js';

function findTests(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(process.cwd(), p));
  }
  return out;
}

async function canConnect(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const files = [...findTests('src'), ...findTests('test')]
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  let adminUrl = process.env.SB_TEST_DB === 'embedded' ? undefined : process.env.TEST_DATABASE_URL;
  let stop: (() => Promise<void>) | undefined;
  if (!adminUrl && process.env.SB_TEST_DB !== 'embedded') {
    const local = 'postgres://postgres@127.0.0.1:5432/postgres';
    if (await canConnect(local)) adminUrl = local;
  }
  if (!adminUrl) {
    process.stdout.write('test: no PostgreSQL server given; booting an embedded one\n');
    const pgEmbedded = await startEmbeddedPostgres({ dir: '.tmp/test-pg', ephemeral: true, log: () => undefined });
    adminUrl = pgEmbedded.adminUrl;
    stop = pgEmbedded.stop;
  }
  process.stdout.write(`test: ${files.length} files against ${adminUrl.replace(/:[^:@/]+@/, ':***@')}\n`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${process.env.SB_TEST_CONCURRENCY ?? 2}`, ...files],
      { stdio: 'inherit', env: { ...process.env, SB_TEST_ADMIN_URL: adminUrl } },
    );
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
  if (stop) await stop();
  return code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
