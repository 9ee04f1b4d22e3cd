import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/switchboard.mjs', import.meta.url));

/** Environment for a CLI child: the parent's minus anything that would point it elsewhere. */
export function cliEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !['DATABASE_URL', 'APP_DATABASE_URL', 'MASTER_KEY', 'PORT', 'DATA_DIR', 'NODE_TEST_CONTEXT'].includes(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs `switchboard <args>` to completion. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(env), cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/**
 * Whether a process here may set a thread's nice value to `nice` (negative values need privilege:
 * root with CAP_SYS_NICE, which containers often drop, or RLIMIT_NICE). Tried on a worker thread of
 * its own, so the caller's thread is left alone.
 */
export async function mayNice(nice: number): Promise<boolean> {
  const { Worker } = await import('node:worker_threads');
  const w = new Worker(`const { parentPort } = require('node:worker_threads'); try { require('node:os').setPriority(${nice}); parentPort.postMessage(true) } catch { parentPort.postMessage(false) }`, { eval: true });
  const ok = await new Promise<boolean>((resolve, reject) => w.once('message', resolve).once('error', reject));
  await w.terminate();
  return ok;
}
