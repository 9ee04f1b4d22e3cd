import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { cpuSecondsOf, niceOf } from './proc-stat.js';

test('fields are counted from the last parenthesis: a command name with spaces and parentheses', () => {
  // proc(5) fields 14/15 (utime, stime) 250 and 50 ticks, field 19 (nice) -5.
  const line = '4242 (node (x) y) S 1 4242 4242 0 -1 4194304 10 0 0 0 250 50 0 0 15 -5 11 0 999 0 0';
  assert.equal(cpuSecondsOf(line), 3);
  assert.equal(niceOf(line), -5);
});

test('this process, as the kernel reports it', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  assert.equal(niceOf(stat), getPriority());
  const cpu = cpuSecondsOf(stat);
  assert.ok(cpu >= 0 && cpu <= process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 + 0.02, String(cpu));
});
