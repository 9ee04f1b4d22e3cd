import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.js';
import { Notifier } from '../../src/events/stream.js';
import { emitEvent } from '../../src/events/emit.js';
import { asTenantId, withTenant } from '../../src/db/db.js';
import { until } from './support.js';

/** With polling switched off, a committed event still wakes its tenant's streams: LISTEN/NOTIFY. */
let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

test('NOTIFY wakes exactly the tenant whose event committed, across connections', async () => {
  const a = await t.tenant();
  const b = await t.tenant();
  const notifier = new Notifier(t.ctx, Number.POSITIVE_INFINITY);
  const woken: string[] = [];
  const offA = notifier.subscribe(a.id, () => woken.push('a'));
  const offB = notifier.subscribe(b.id, () => woken.push('b'));
  try {
    // LISTEN is set up asynchronously on first subscribe; give it a moment before emitting. Once
    // listening, every subscribed tenant is woken once (what committed before LISTEN is looked for).
    await new Promise((r) => setTimeout(r, 300));
    woken.length = 0;
    await withTenant(t.ctx.db, asTenantId(a.id), (tx) => emitEvent(tx, { tenantId: a.id, type: 'conversation.updated', data: { n: 1 } }));
    const until = Date.now() + 5_000;
    while (!woken.includes('a') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.ok(woken.includes('a'), 'tenant A was woken by NOTIFY with polling off');
    assert.ok(!woken.includes('b'), 'tenant B was not woken by A’s event');
    // Nothing is notified for a transaction that rolls back.
    woken.length = 0;
    await assert.rejects(
      withTenant(t.ctx.db, asTenantId(b.id), async (tx) => {
        await emitEvent(tx, { tenantId: b.id, type: 'conversation.updated', data: {} });
        throw new Error('roll back');
      }),
      /roll back/,
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(woken, [], 'a rolled-back event wakes nobody');
  } finally {
    offA();
    offB();
  }
});

test('the poll (LISTEN down) wakes a tenant for an event committed after a later-started one, also when another tenant is busier; an idle tenant is not woken again', async () => {
  const a = await t.tenant();
  const b = await t.tenant();
  const notifier = new Notifier({ ...t.ctx, listen: undefined }, 200);
  const wakes = { a: 0, b: 0 };
  const offA = notifier.subscribe(a.id, () => wakes.a++);
  const offB = notifier.subscribe(b.id, () => wakes.b++);
  const emit = (tenantId: string) => withTenant(t.ctx.db, asTenantId(tenantId), (tx) => emitEvent(tx, { tenantId, type: 'conversation.updated', data: {} }));
  try {
    // X (tenant A) starts first and commits last; Y (A) and Z (B, the busier tenant) start later and commit first.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const x = withTenant(t.ctx.db, asTenantId(a.id), async (tx) => {
      await emitEvent(tx, { tenantId: a.id, type: 'conversation.updated', data: { x: true } });
      await held;
    });
    await sleep(100);
    await emit(a.id);
    for (let i = 0; i < 3; i++) await emit(b.id);
    await sleep(700);
    const before = { ...wakes };
    assert.ok(before.a >= 1 && before.b >= 1, 'both woken for what committed');
    release();
    await x;
    await until('tenant A woken for X', () => wakes.a > before.a, 3_000);
    // Nothing new: after the window (5 s) has emptied, no tenant is woken.
    await sleep(5_600);
    const idle = { ...wakes };
    await sleep(800);
    assert.deepEqual(wakes, idle, 'no wake-ups without new events');
  } finally {
    offA();
    offB();
  }
});

test('a LISTEN that comes back wakes every subscribed tenant (notifications meanwhile are lost)', async () => {
  const a = await t.tenant();
  let state: ((listening: boolean) => void) | undefined;
  const listen: NonNullable<typeof t.ctx.listen> = async (_channel, _onPayload, onState) => {
    state = onState;
    onState?.(true);
    return async () => undefined;
  };
  const notifier = new Notifier({ ...t.ctx, listen }, Number.POSITIVE_INFINITY);
  let wakes = 0;
  const off = notifier.subscribe(a.id, () => wakes++);
  try {
    await until('listening', () => state !== undefined, 1_000);
    const before = wakes;
    state!(false);
    assert.equal(wakes, before, 'a loss wakes nobody');
    state!(true);
    assert.equal(wakes, before + 1);
  } finally {
    off();
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
