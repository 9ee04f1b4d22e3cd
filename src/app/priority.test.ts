import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { httpThreadNiceCheck, setHttpThreadNice, type ThreadPriority } from './priority.js';

/** A thread whose nice value may only be raised (as for an unprivileged process), recording calls. */
function unprivileged(start = 0): ThreadPriority & { sets: number[] } {
  let nice = start;
  const sets: number[] = [];
  return {
    sets,
    get: () => nice,
    set: (n) => {
      sets.push(n);
      if (n < nice) throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
      nice = n;
    },
  };
}

/** A thread any nice value may be set on (root with CAP_SYS_NICE). */
function privileged(start = 0): ThreadPriority {
  let nice = start;
  return { get: () => nice, set: (n) => void (nice = n) };
}

function logLines() {
  const lines: { msg: string; nice: number; asked: number; reason: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

test('refused: the thread keeps its nice value, and one info line says how to permit it', () => {
  const { logger, lines } = logLines();
  const t = unprivileged(0);
  assert.deepEqual(setHttpThreadNice(-5, logger, t), { applied: false, nice: 0, reason: 'EACCES' });
  assert.equal(t.get(), 0);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.asked, -5);
  assert.match(lines[0]!.msg, /CAP_SYS_NICE/);
  assert.match(lines[0]!.msg, /LimitNICE/);
  assert.deepEqual(setHttpThreadNice(-5, logger, t, 'debug'), { applied: false, nice: 0, reason: 'EACCES' });
  assert.equal(lines.length, 1, 'at debug (development), nothing at info');
});

test('permitted, or already there: applied, nothing logged at info', () => {
  const { logger, lines } = logLines();
  const t = unprivileged(-10);
  assert.deepEqual(setHttpThreadNice(-5, logger, t), { applied: true, nice: -5 });
  assert.equal(t.get(), -5);
  assert.deepEqual(setHttpThreadNice(-5, logger, t), { applied: true, nice: -5 });
  assert.deepEqual(t.sets, [-5], 'no second call when the value is already set');
  assert.equal(lines.length, 0);
});

test("doctor's check: advice when refused, and the thread's value put back when permitted", () => {
  const refused = httpThreadNiceCheck(-5, unprivileged(0));
  assert.equal(refused.ok, true);
  assert.equal(refused.warn, true);
  assert.match(refused.detail, /not permitted here \(EACCES\)/);
  const t = privileged(0);
  const permitted = httpThreadNiceCheck(-5, t);
  assert.equal(permitted.warn, undefined);
  assert.match(permitted.detail, /nice -5 permitted/);
  assert.equal(t.get(), 0, 'the doctor leaves its own thread as it found it');
});

test('on this machine: only the calling thread changes (a worker thread keeps its own)', async () => {
  // Run in a worker so the test runner's own thread is left alone. Whether a negative value is
  // permitted depends on the machine (root or CAP_SYS_NICE); a positive one always is.
  const code = `
    const { getPriority, setPriority } = require('node:os');
    const { Worker, parentPort } = require('node:worker_threads');
    const other = new Worker("require('node:worker_threads').parentPort.once('message', () => require('node:worker_threads').parentPort.postMessage(require('node:os').getPriority()))", { eval: true });
    other.once('online', () => {
      setPriority(7);
      other.once('message', (n) => { parentPort.postMessage({ mine: getPriority(), other: n }); other.terminate(); });
      other.postMessage('?');
    });`;
  const w = new Worker(code, { eval: true });
  const r = await new Promise<{ mine: number; other: number }>((resolve, reject) => w.once('message', resolve).once('error', reject));
  await w.terminate();
  assert.equal(r.mine, 7);
  assert.notEqual(r.other, 7, 'a thread started before keeps its nice value');
});
