/**
 * The inline normaliser on its own worker thread (decision 030, INBOUND_THREAD=true, the default of
 * `switchboard start`): acknowledged webhooks become messages without the main thread processing
 * them, the main thread sees the thread's queue (the inbox worker's step-back rule), a dead thread
 * loses nothing and processing continues on the main thread, and closing the app ends the thread.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../support/app.js';
import { inboundPipeline } from '../../src/inbound/pipeline.js';
import { ThreadedInline } from '../../src/inbound/inline-thread.js';
import { drainInbox } from '../../src/inbound/normalise.js';
import { closeApp, cloudCreds, cloudPayload, holdProcessing, makeChannel, owner, postCloud, until } from './support.js';

describe('inbound processing thread', () => {
  let t: TestApp;
  let tenant: { id: string; key: string };
  before(async () => {
    t = await startTestApp({ INBOUND_THREAD: 'true' });
    tenant = await t.tenant();
    await makeChannel(t, tenant.id, 'cloud-api', cloudCreds('555000901'));
  });
  after(() => closeApp(t));

  const messages = async (text: string) =>
    Number((await sql<{ n: number }>`select count(*)::int as n from messages where tenant_id = ${tenant.id} and content->>'text' = ${text}`.execute(owner(t))).rows[0]!.n);
  const pending = async () => Number((await sql<{ n: number }>`select count(*)::int as n from inbox where status = 'pending'`.execute(owner(t))).rows[0]!.n);

  it('acknowledged webhooks become messages, processed on the thread', async () => {
    const { inline } = inboundPipeline(t.ctx);
    assert.ok(inline instanceof ThreadedInline);
    for (let i = 0; i < 30; i++) {
      const res = await postCloud(t, cloudPayload([{ phoneNumberId: '555000901', from: `1555123${String(i).padStart(4, '0')}`, text: 'on the thread' }]));
      assert.equal(res.statusCode, 200, res.body);
    }
    // No inbox worker runs in tests: only the thread can have processed them. Generous: the thread
    // starts (loads its modules, opens its pool) with this test, and CI's second run of the suite
    // once took more than 5 s to get there on a slow machine.
    await until('all 30 processed by the thread', async () => (await messages('on the thread')) === 30, 20_000);
    assert.equal(await pending(), 0);
  });

  // A row is "held" while queued on the thread; the batch in flight is protected by its row locks.
  // So: one webhook whose batch is stuck at a lock, and a second one queued behind it.
  async function stuckBatchAndQueuedRow(textA: string, textB: string, from: string): Promise<() => Promise<void>> {
    const release = await holdProcessing(t);
    assert.equal((await postCloud(t, cloudPayload([{ phoneNumberId: '555000901', from: `${from}1`, text: textA }]))).statusCode, 200);
    await new Promise((r) => setTimeout(r, 400)); // past the 100 ms linger: its batch waits for the lock
    assert.equal((await postCloud(t, cloudPayload([{ phoneNumberId: '555000901', from: `${from}2`, text: textB }]))).statusCode, 200);
    return release;
  }

  it('the main thread sees the rows the thread holds, so the inbox worker does not claim them twice', async () => {
    const { inline } = inboundPipeline(t.ctx);
    const release = await stuckBatchAndQueuedRow('stuck', 'queued', '1555777000');
    try {
      await until('the queued row is reported as waiting', () => inline.holdsRowsOlderThan(300));
    } finally {
      await release();
    }
    await until('both processed once released', async () => (await messages('stuck')) === 1 && (await messages('queued')) === 1);
    await until('nothing reported as waiting any more', () => !inline.holdsRowsOlderThan(0));
  });

  it('a dead thread loses nothing: its rows stay pending for the inbox worker and processing continues on the main thread', async () => {
    const inline = inboundPipeline(t.ctx).inline as ThreadedInline;
    const release = await stuckBatchAndQueuedRow('in flight when the thread died', 'queued when the thread died', '1555777100');
    try {
      await until('the thread holds the queued row', () => inline.holdsRowsOlderThan(100));
      await inline.kill();
    } finally {
      await release();
    }
    // The batch already sent to PostgreSQL completes on its own (its transaction does not need the thread).
    await until('the batch in flight completed', async () => (await messages('in flight when the thread died')) === 1);
    assert.equal(inline.holdsRowsOlderThan(0), false, 'a dead thread holds nothing');
    assert.equal(await messages('queued when the thread died'), 0);
    assert.equal(await pending(), 1, 'the acknowledged row the thread held is still in the inbox');
    // The inbox worker's pass (as `switchboard start` runs it) stores it.
    await drainInbox(t.ctx, 500, 0);
    assert.equal(await messages('queued when the thread died'), 1);
    // And new webhooks are processed on the main thread now.
    const res = await postCloud(t, cloudPayload([{ phoneNumberId: '555000901', from: '15557770003', text: 'after the thread died' }]));
    assert.equal(res.statusCode, 200);
    await until('processed by the fallback', async () => (await messages('after the thread died')) === 1);
  });
});

describe('inbound processing thread shutdown', () => {
  it('closing the app waits for the thread to finish its rows, then ends it', async () => {
    const t = await startTestApp({ INBOUND_THREAD: 'true' });
    const tenant = await t.tenant();
    await makeChannel(t, tenant.id, 'cloud-api', cloudCreds('555000902'));
    for (let i = 0; i < 20; i++) assert.equal((await postCloud(t, cloudPayload([{ phoneNumberId: '555000902', from: `1555765${String(i).padStart(4, '0')}`, text: 'before close' }]))).statusCode, 200);
    const inline = inboundPipeline(t.ctx).inline as ThreadedInline;
    const ownerDb = owner(t);
    await t.app.close(); // onClose: the thread finishes what it was given, then exits
    assert.equal(inline.holdsRowsOlderThan(0), false);
    const n = Number((await sql<{ n: number }>`select count(*)::int as n from messages where content->>'text' = 'before close'`.execute(ownerDb)).rows[0]!.n);
    const left = Number((await sql<{ n: number }>`select count(*)::int as n from inbox where status = 'pending'`.execute(ownerDb)).rows[0]!.n);
    assert.equal(n + left, 20, 'every acknowledged webhook is a message or still in the inbox');
    assert.equal(n, 20, 'the thread finished its rows before it ended');
    await closeApp(t);
  });
});
