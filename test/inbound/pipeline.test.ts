/**
 * The inbound pipeline's load signals: the ingress gauge counts a webhook request until its
 * connection side is done, aborted ones included; and the inbox safety net drains a stale row while
 * ingress is busy (it steps back only for overload or for rows the inline processor holds).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../support/app.js';
import { putInbox } from '../../src/inbound/inbox.js';
import { inboundPipeline, IngressGauge, threadCpuMs } from '../../src/inbound/pipeline.js';
import { inboxStep } from '../../src/inbound/worker.js';
import { closeApp, cloudCreds, cloudPayload, holdProcessing, makeChannel, owner, postCloud, until } from './support.js';
import { InlineProcessor } from '../../src/inbound/inline.js';

describe('inbound pipeline signals', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => closeApp(t));

  it('an aborted webhook request stops counting as in flight', async () => {
    const { ingress } = inboundPipeline(t.ctx);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as { port: number }).port;
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    // Headers and half the body announced: the request is in flight until the client gives up.
    socket.write('POST /webhooks/cloud-api HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"object":');
    await until('the request is counted while its body is awaited', () => ingress.inflight === 1);
    socket.destroy();
    await until('the aborted request is no longer counted', () => ingress.inflight === 0);
    // An answered one is counted and released as well.
    const res = await postCloud(t, '{"object":"whatsapp_business_account","entry":[]}');
    assert.notEqual(res.statusCode, 500);
    await until('an answered request is released', () => ingress.inflight === 0);
  });

  it("the inbox worker drains a crashed process's stale row while ingress is hot", async () => {
    const tenant = await t.tenant();
    const ch = await makeChannel(t, tenant.id, 'cloud-api', cloudCreds('555000777'));
    const body = Buffer.from(cloudPayload([{ phoneNumberId: '555000777', from: '15551234567', text: 'left behind' }]));
    const id = await putInbox(t.ctx, { tenantId: tenant.id, channelId: ch.id, provider: 'cloud-api', body, headers: { 'content-type': 'application/json' }, split: false });
    // Acknowledged by a process that died before processing it: nothing holds it in memory.
    await sql`update inbox set received_at = now() - interval '10 seconds' where id = ${id}`.execute(owner(t));
    const { ingress } = inboundPipeline(t.ctx);
    for (let i = 0; i < 20; i++) ingress.enter();
    try {
      assert.equal(ingress.hot(), true);
      assert.equal(await inboxStep(t.ctx)(), 1);
    } finally {
      for (let i = 0; i < 20; i++) ingress.leave();
    }
    const msgs = await owner(t).selectFrom('messages').select(['content']).where('tenant_id', '=', tenant.id).execute();
    assert.deepEqual(msgs.map((m) => (m.content as { text?: string }).text), ['left behind']);
    const left = await owner(t).selectFrom('inbox').select('id').where('id', '=', id).execute();
    assert.equal(left.length, 0);
  });

  it('on the processing thread it steps back when behind while the acknowledging thread is saturated, not when ingress is merely hot', async () => {
    const tenant = await t.tenant();
    const ch = await makeChannel(t, tenant.id, 'cloud-api', cloudCreds('555000778'));
    const item = async (from: string) => {
      const body = Buffer.from(cloudPayload([{ phoneNumberId: '555000778', from, text: 'thread rule' }]));
      const w = { tenantId: tenant.id, channelId: ch.id, externalId: '555000778', provider: 'cloud-api', body, headers: { 'content-type': 'application/json' }, split: false };
      return { ...w, id: await putInbox(t.ctx, w) };
    };
    let saturated = false;
    // Hot throughout: on the thread, hot alone is not a reason to step back.
    const p = new InlineProcessor(t.ctx, () => true, () => saturated);
    const release = await holdProcessing(t);
    try {
      p.kick([await item('15558880001')]);
      await new Promise((r) => setTimeout(r, 400)); // past the linger: that batch waits at the lock
      p.kick([await item('15558880002')]);
      await until('the second row has waited longer than 300 ms', () => p.holdsRowsOlderThan(350));
      assert.equal(p.stepsBack(), false, 'behind, ingress hot but not saturated: no stepping back');
      saturated = true;
      assert.equal(p.stepsBack(), true, 'behind and saturated: overload');
      saturated = false;
    } finally {
      await release();
    }
    await until('both rows processed', async () => !p.holdsRowsOlderThan(0) && (await owner(t).selectFrom('messages').select('id').where('tenant_id', '=', tenant.id).execute()).length === 2);
    await p.idle();
  });

  it("starts no batch while the burst probe pauses, and during a burst steps back though nothing else says so (decision 031)", async () => {
    const tenant = await t.tenant();
    const ch = await makeChannel(t, tenant.id, 'cloud-api', cloudCreds('555000779'));
    const body = Buffer.from(cloudPayload([{ phoneNumberId: '555000779', from: '15558880003', text: 'probe' }]));
    const w = { tenantId: tenant.id, channelId: ch.id, externalId: '555000779', provider: 'cloud-api', body, headers: { 'content-type': 'application/json' }, split: false };
    const probe = { pausing: () => true, bursting: () => false };
    // Not hot, not saturated, nothing behind: only the probe can hold the row.
    const p = new InlineProcessor(t.ctx, () => false, () => false, probe);
    const stored = async () => (await owner(t).selectFrom('messages').select('id').where('tenant_id', '=', tenant.id).execute()).length;
    p.kick([{ ...w, id: await putInbox(t.ctx, w) }]);
    await new Promise((r) => setTimeout(r, 400)); // four times the linger
    assert.equal(await stored(), 0, 'held while the probe pauses');
    assert.equal(p.stepsBack(), false, 'a pause is not a burst: the inbox worker is not told to step back');
    probe.pausing = () => false;
    await until('processed once the pause is over', async () => (await stored()) === 1);
    await p.idle();
    probe.bursting = () => true;
    assert.equal(p.stepsBack(), true, 'a burst is overload on its own');
    probe.bursting = () => false;
    assert.equal(p.stepsBack(), false);
  });

  it('drains a backlog left when arrivals stop with two batches at once, and keeps one at a time while ingress is hot', async () => {
    const tenant = await t.tenant();
    const ch = await makeChannel(t, tenant.id, 'cloud-api', cloudCreds('555000780'));
    const rows = [];
    for (let i = 0; i < 1_200; i++) {
      const body = Buffer.from(cloudPayload([{ phoneNumberId: '555000780', from: `1555889${String(i).padStart(4, '0')}`, text: `backlog ${i}` }]));
      const w = { tenantId: tenant.id, channelId: ch.id, externalId: '555000780', provider: 'cloud-api', body, headers: { 'content-type': 'application/json' }, split: false };
      rows.push({ ...w, id: await putInbox(t.ctx, w) });
    }
    // Every batch's messages insert sleeps 500 ms in this database, so the batches running at a
    // moment can be counted in pg_stat_activity (and 1,200 rows last long enough for the test).
    await sql`create function test_slow_batch() returns trigger language plpgsql as $$ begin perform pg_sleep(0.5); return null; end $$`.execute(owner(t));
    await sql`create trigger test_slow_batch after insert on messages for each statement execute function test_slow_batch()`.execute(owner(t));
    const sleeping = async () => Number((await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event = 'PgSleep' and query like '%sb_ingest_received%'`.execute(owner(t))).rows[0]!.n);
    /** The most batches seen running at once over `ms`. */
    const most = async (ms: number) => {
      let n = 0;
      for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) n = Math.max(n, await sleeping());
      return n;
    };
    // Ingress hot while the rows arrive (one runner), and no arrivals after them: only the runner's
    // own check after each batch can start a second one.
    // As the ingress gauge answers: hot now, or within the last `withinMs` (50 ms: now).
    let calmSince = Infinity;
    const hot = (withinMs = 50) => performance.now() - calmSince < withinMs;
    const p = new InlineProcessor(t.ctx, hot, () => false);
    try {
      p.kick(rows);
      assert.equal(await most(1_000), 1, 'ingress hot: one batch at a time');
      calmSince = performance.now(); // calm now, but hot a moment ago (a dip in a steady load looks like this)
      assert.equal(await most(400), 1, 'calm for less than a second: still one batch at a time');
      await until('two batches at once once ingress has been calm for a second', async () => (await sleeping()) === 2);
    } finally {
      await sql`drop trigger test_slow_batch on messages`.execute(owner(t));
      await sql`drop function test_slow_batch()`.execute(owner(t));
    }
    await until('all 1,200 processed', async () => (await owner(t).selectFrom('messages').select('id').where('tenant_id', '=', tenant.id).execute()).length === 1_200);
    await p.idle();
  });
});

describe('ingress gauge across threads (decision 030)', () => {
  // The gauge's rule, on a CPU clock the test controls: a spinning thread on a shared CI machine
  // gets a core only part of the time, so real CPU time could not say "saturated" reliably there.
  /** A thread's CPU clock that runs at `share()` of the wall clock. */
  const cpuClock = (share: () => number) => {
    let cpuMs = 0;
    let last = performance.now();
    return () => {
      const now = performance.now();
      cpuMs += share() * (now - last);
      last = now;
      return cpuMs;
    };
  };

  it('is saturated while the acknowledging thread uses most of a core, and not once it idles', async () => {
    const gauge = new IngressGauge();
    let share = 0.95;
    const stop = gauge.sampleLoad(cpuClock(() => share));
    try {
      assert.equal(gauge.saturated(), false, 'nothing sampled yet');
      await until('a thread at 95 % of a core reads as saturated', () => gauge.saturated(), 3_000);
      share = 0; // idle: its CPU clock stands still
      await until('an idle thread does not', () => !gauge.saturated(), 3_000);
    } finally {
      stop();
    }
  });

  it('reads a thread at 80 % of a core as not saturated', async () => {
    const gauge = new IngressGauge();
    const stop = gauge.sampleLoad(cpuClock(() => 0.8));
    try {
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(gauge.saturated(), false);
    } finally {
      stop();
    }
  });

  it("without the thread's CPU time, falls back to the event loop's busy share", async () => {
    const gauge = new IngressGauge();
    const stop = gauge.sampleLoad(() => null);
    try {
      // Busy in slices (the sampler runs between them): the loop's busy share counts time spent
      // waiting for a core too, so this holds on a crowded machine.
      const end = Date.now() + 5_000;
      while (!gauge.saturated() && Date.now() < end) {
        const until = performance.now() + 150;
        while (performance.now() < until) Math.sqrt(Math.random());
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(gauge.saturated(), true, 'a busy loop reads as saturated');
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(gauge.saturated(), false, 'an idle one does not');
    } finally {
      stop();
    }
  });

  it("counts the main thread's CPU time, not another thread's", { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
    const cpu = threadCpuMs();
    const before = cpu()!;
    // Another thread spins for 400 ms while this one sleeps...
    const spinner = new Worker('const end = Date.now() + 400; while (Date.now() < end) Math.sqrt(Math.random());', { eval: true });
    await new Promise((r) => spinner.once('exit', r));
    const whileOtherSpun = cpu()! - before;
    assert.ok(whileOtherSpun < 150, `this thread's CPU grew ${whileOtherSpun} ms while it slept`);
    // ...then this one spins for 300 ms of its own CPU time.
    const start = cpu()!;
    const wallStart = performance.now();
    while (cpu()! - start < 300 && performance.now() - wallStart < 10_000) Math.sqrt(Math.random());
    const spun = cpu()! - start;
    assert.ok(spun >= 300 && spun <= performance.now() - wallStart + 20, `${spun} ms of CPU in ${performance.now() - wallStart} ms`);
  });

  it('a view on another thread reads the same requests in flight and hot state', () => {
    const gauge = new IngressGauge();
    const view = new IngressGauge(gauge.share);
    assert.equal(view.hot(), false);
    for (let i = 0; i < 16; i++) gauge.enter();
    assert.equal(view.inflight, 16);
    assert.equal(view.hot(), true);
    for (let i = 0; i < 16; i++) gauge.leave();
    assert.equal(view.inflight, 0);
    assert.equal(view.hot(), true, 'hot lasts a moment after the queue empties');
  });

  it('tells whether requests queued within a given time (the processor waits for a calm second before a second batch)', async () => {
    const gauge = new IngressGauge();
    assert.equal(gauge.hot(60_000), false, 'never hot');
    for (let i = 0; i < 16; i++) gauge.enter();
    for (let i = 0; i < 16; i++) gauge.leave();
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(gauge.hot(), false, 'calm now');
    assert.equal(gauge.hot(1_000), true, 'but hot within the last second');
    assert.equal(gauge.hot(100), false, 'and not within the last 100 ms');
  });
});
