import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { BIN, cliEnv, mayNice, runCli } from '../support/cli.js';
import { freePort } from '../../src/db/embedded.js';
import { niceOf } from '../../src/core/proc-stat.js';

/**
 * The README's first command with no DATABASE_URL: boots embedded PostgreSQL (127.0.0.1 only, not
 * port 5432), serves HTTP, keeps data across restarts and stops PostgreSQL on SIGTERM.
 */
const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/**
 * Servers still running when the file ends — a failed assertion skipped their stop — are stopped
 * (SIGTERM, so their embedded PostgreSQL stops too; SIGKILL after 10 s): left running, they kept
 * the test process alive for good.
 */
const running = new Set<ChildProcess>();
after(async () => {
  await Promise.all([...running].map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    c.once('exit', () => (clearTimeout(timer), resolve()));
    c.kill('SIGTERM');
  })));
});

async function serve(env: Record<string, string>, port: number, uid?: number): Promise<{ pid: number; stop(): Promise<number | null>; out: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port)], { env: cliEnv(env), ...(uid !== undefined ? { uid, gid: uid } : {}) });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const deadline = Date.now() + 60_000;
  while (!out.includes('Switchboard is serving')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    out: () => out,
    stop: () => new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    }),
  };
}

/** A process's (its main thread's) nice value, or one thread's (`/proc/<pid>/task/<tid>`). */
async function niceOfPid(pid: number, tid?: number): Promise<number> {
  return niceOf(await readFile(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8'));
}

/** The nice values of all of a process's threads. */
async function threadNices(pid: number): Promise<number[]> {
  return Promise.all((await readdir(`/proc/${pid}/task`)).map((tid) => niceOfPid(pid, Number(tid))));
}

test('serve with embedded PostgreSQL: first run, restart with data kept, clean stop', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sb-embedded-'));
  const pgPort = await freePort();
  const httpPort = await freePort();
  assert.notEqual(pgPort, 5432);
  const env = { DATA_DIR: join(dir, 'data'), EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'warn' };
  try {
    const first = await serve(env, httpPort);
    assert.match(first.out(), /No superadmin exists yet/);
    assert.match(first.out(), /embedded PostgreSQL on 127\.0\.0\.1:/);
    const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    assert.equal(ready.status, 200);
    // Decision 039: the thread answering HTTP asks for nice -5 (granted where this process may set
    // it), after the embedded PostgreSQL has started, which keeps its own.
    assert.equal(await niceOfPid(first.pid), (await mayNice(-5)) ? -5 : 0);
    // The processing thread, started after, sets its own 10 (decision 030) instead of keeping -5
    // (first thing in its entry; polled, as the thread starts beside the server, not before it).
    let nices = await threadNices(first.pid);
    for (let i = 0; i < 100 && !nices.includes(10); i++) nices = await new Promise((r) => setTimeout(r, 100)).then(() => threadNices(first.pid));
    assert.ok(nices.includes(10), `a thread at nice 10, the processing thread (${nices.join(' ')})`);
    const postmaster = Number((await readFile(join(dir, 'data', 'postgres', 'data', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    assert.equal(await niceOfPid(postmaster), 0);
    // A second process against the same data directory reuses the running server.
    const admin = await runCli(['superadmin', 'create', '--email', 'root@example.com', '--password', 'correct horse battery', '--json'], env);
    assert.equal(admin.code, 0, admin.stderr);
    // The embedded server runs with the WAL settings the doctor advises (decision 037).
    const doctor = await runCli(['doctor'], env);
    assert.match(doctor.stdout, /✔ PostgreSQL checkpoints: max_wal_size 4096 MB, checkpoint_timeout 300 s: above ~1507 webhooks\/s/, doctor.stdout);
    assert.match(doctor.stdout, /✔ PostgreSQL wal_compression: pglz/, doctor.stdout);
    assert.equal(await first.stop(), 0);
    assert.equal(await portOpen(pgPort), false, 'PostgreSQL stopped with Switchboard');

    const second = await serve(env, httpPort);
    assert.doesNotMatch(second.out(), /No superadmin exists yet/, 'the superadmin survived the restart');
    const login = await fetch(`http://127.0.0.1:${httpPort}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'root@example.com', password: 'correct horse battery' }) });
    assert.equal(login.status, 200);
    assert.equal(await second.stop(), 0);
    assert.equal(await portOpen(pgPort), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('as a normal (non-root) user too', { timeout: 120_000, skip: process.getuid?.() !== 0 ? 'needs root to switch to another user' : false }, async () => {
  // `nobody` cannot write the repository, so everything it writes goes to a folder it owns.
  const { execFileSync } = await import('node:child_process');
  const uid = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());
  const dir = await mkdtemp(join(tmpdir(), 'sb-nonroot-'));
  const { chown, chmod } = await import('node:fs/promises');
  await chmod(dir, 0o755);
  await chown(dir, uid, uid);
  const pgPort = await freePort();
  const httpPort = await freePort();
  const env = { HOME: dir, DATA_DIR: join(dir, 'data'), EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'warn' };
  try {
    const s = await serve(env, httpPort, uid);
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status, 200);
    // A normal user may not lower a nice value (decision 039): refused, it serves at its own 0.
    assert.equal(await niceOfPid(s.pid), 0);
    assert.equal(await s.stop(), 0);
    assert.equal(await portOpen(pgPort), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
