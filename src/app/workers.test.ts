import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppContext } from './context.js';
import { startWorkers, WORKERS } from './workers.js';

test('startWorkers refuses a worker name it does not know, before starting any', () => {
  // A misspelt name would otherwise start nothing of what was asked for, silently.
  assert.throws(() => startWorkers({} as AppContext, ['statistics', 'inbound']), /unknown worker\(s\): inbound/);
  // The names the benchmarks ask for exist.
  for (const n of ['inbound-events', 'statistics', 'queue-vacuum']) assert.ok(WORKERS.some((w) => w.name === n), n);
});
