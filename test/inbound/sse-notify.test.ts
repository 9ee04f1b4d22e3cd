import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.js';
import { Notifier } from '../../src/events/stream.js';
import { emitEvent } from '../../src/events/emit.js';
import { asTenantId, withTenant } from '../../src/db/db.js';

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
    // LISTEN is set up asynchronously on first subscribe; give it a moment before emitting.
    await new Promise((r) => setTimeout(r, 300));
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
