/**
 * Child processes of the benchmarks: each prints `PORT <n>` when ready and stops on SIGTERM.
 * BENCH_PROF=1 starts Switchboard processes with `--cpu-prof` (profiles in /tmp/prof), and
 * BENCH_NODE_FLAGS with further Node flags (e.g. `--trace-gc`, which NODE_OPTIONS refuses); with
 * LOG_LEVEL set, their log lines (and such traces) are copied to this process's stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const STOP_GRACE_MS = 20_000;

export interface Proc {
  child: ChildProcess;
  port: number;
  /** Ask an IPC-enabled child something; it answers with one message. */
  ask<T>(msg: unknown): Promise<T>;
  stop(): Promise<void>;
}

export async function startProc(script: string, arg: unknown, opts: { ipc?: boolean } = {}): Promise<Proc> {
  const child = spawn(process.execPath, [...(process.env.BENCH_PROF && script.includes('server') ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), ...(process.env.BENCH_NODE_FLAGS && script.includes('server') ? process.env.BENCH_NODE_FLAGS.split(' ') : []), '--import', 'tsx', script, JSON.stringify(arg)], {
    stdio: ['ignore', 'pipe', 'inherit', ...(opts.ipc ? (['ipc'] as const) : [])],
  });
  const port = await new Promise<number>((resolve, reject) => {
    // Output is kept only until the PORT line: a child logging at info writes thousands of lines a
    // second, and searching all of it again on every chunk cost this process (the load generator)
    // more CPU the longer the run.
    let out: string | undefined = '';
    child.stdout!.on('data', (c: Buffer) => {
      // The process's own log lines (LOG_LEVEL=info etc.) go to this process's stderr.
      if (process.env.LOG_LEVEL) process.stderr.write(c);
      if (out === undefined) return;
      out += c.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        out = undefined;
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  return {
    child,
    port,
    ask: <T>(msg: unknown) =>
      new Promise<T>((resolve) => {
        child.once('message', (m) => resolve(m as T));
        child.send!(msg as object);
      }),
    // A child that has not stopped STOP_GRACE_MS after SIGTERM is killed, so a bench never hangs
    // before it drops its database (once, after an error elsewhere, a server's shutdown waited on a
    // connection that never closed).
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => {
          console.error(`[bench] ${script} still running ${STOP_GRACE_MS / 1000} s after SIGTERM: killed`);
          child.kill('SIGKILL');
        }, STOP_GRACE_MS);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
