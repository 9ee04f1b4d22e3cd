import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit } from './group-commit.js';

/** A group commit whose writes finish only when the test releases them, recording each group. */
function harness(o: { maxRows: number; maxFlushes: number; minParallel: number; select?: (q: string[], n: number) => { group: string[]; rest: string[] } }) {
  const groups: string[][] = [];
  const release: (() => void)[] = [];
  const gc = new GroupCommit<string>({
    ...o,
    flush: (g) => {
      groups.push(g);
      return new Promise<void>((r) => release.push(r));
    },
  });
  const turn = () => new Promise((r) => setImmediate(r));
  const finishOldest = async () => {
    release.shift()!();
    await turn();
    await turn();
  };
  return { gc, groups, finishOldest, turn, inFlight: () => release.length };
}

test('items pushed in one event-loop turn go together; items arriving during the write go in the next group', async () => {
  const h = harness({ maxRows: 100, maxFlushes: 4, minParallel: 16 });
  h.gc.push('a');
  h.gc.push('b');
  assert.deepEqual(h.groups, [], 'nothing is written before the turn ends');
  await h.turn();
  assert.deepEqual(h.groups, [['a', 'b']]);
  for (const x of ['c', 'd', 'e']) h.gc.push(x);
  await h.turn();
  // Fewer than minParallel waiting: no second write beside the first.
  assert.deepEqual(h.groups, [['a', 'b']]);
  await h.finishOldest();
  assert.deepEqual(h.groups, [['a', 'b'], ['c', 'd', 'e']]);
});

test('a second write starts beside the first only once minParallel items wait, and never more than maxFlushes', async () => {
  const h = harness({ maxRows: 4, maxFlushes: 2, minParallel: 3 });
  h.gc.push('x');
  await h.turn();
  for (let i = 0; i < 2; i++) h.gc.push(`w${i}`);
  await h.turn();
  assert.equal(h.inFlight(), 1);
  h.gc.push('w2'); // the third waiting item: a second write starts
  await h.turn();
  assert.equal(h.inFlight(), 2);
  assert.deepEqual(h.groups[1], ['w0', 'w1', 'w2']);
  for (let i = 3; i < 12; i++) h.gc.push(`w${i}`);
  await h.turn();
  assert.equal(h.inFlight(), 2, 'maxFlushes bounds the writes in flight');
  await h.finishOldest();
  // Groups are capped at maxRows, oldest first.
  assert.deepEqual(h.groups[2], ['w3', 'w4', 'w5', 'w6']);
  while (h.inFlight() > 0) await h.finishOldest();
  assert.deepEqual(h.groups.flat().sort(), ['x', ...Array.from({ length: 12 }, (_, i) => `w${i}`)].sort());
});

test('a custom selection decides which waiting items go together; the rest keep their order', async () => {
  const byPrefix = (q: string[], n: number) => {
    const p = q[0]![0];
    const group = q.filter((x) => x[0] === p).slice(0, n);
    return { group, rest: q.filter((x) => !group.includes(x)) };
  };
  const h = harness({ maxRows: 10, maxFlushes: 1, minParallel: 1, select: byPrefix });
  h.gc.push('a1');
  await h.turn();
  for (const x of ['b1', 'a2', 'b2', 'a3']) h.gc.push(x);
  await h.turn();
  while (h.inFlight() > 0) await h.finishOldest();
  assert.deepEqual(h.groups, [['a1'], ['b1', 'b2'], ['a2', 'a3']]);
});
