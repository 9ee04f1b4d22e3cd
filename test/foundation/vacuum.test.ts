import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import pino from 'pino';
import { startTestApp, type TestApp } from '../support/app.js';
import { ownerMaintenance, queueVacuumWorker, vacuumQueues, type Maintenance, type QueueTable } from '../../src/ops/vacuum.js';

let t: TestApp;
let owner: pg.Client;
let m: Maintenance;
let tenant: string;
before(async () => {
  t = await startTestApp();
  owner = new pg.Client({ connectionString: t.testDb.ownerUrl });
  await owner.connect();
  m = ownerMaintenance(t.testDb.ownerUrl, pino({ level: 'silent' }));
  // Where autovacuum runs (the embedded server), it could vacuum the inbox between a test's deletes
  // and its assertions (and our VACUUM (SKIP_LOCKED) would skip the table it holds): the counts
  // these tests read must be ours alone.
  await owner.query('alter table inbox set (autovacuum_enabled = false)');
  tenant = (await t.tenant()).id;
  await owner.query(`insert into channels (tenant_id, id, name, provider, external_id, secrets_enc, settings, webhook_token, rate_per_second, burst)
    values ($1, 'chn_vac', 'vac', 'cloud-api', '555000111', 'sealed', '{}', 'tok-vac', 80, 80)`, [tenant]);
});
after(async () => {
  await m.close();
  await owner.end();
  await t.close();
});

let seq = 0;
/** `n` inbox rows of ~600 bytes each, as webhooks would leave them. */
const insertRows = (n: number) =>
  owner.query(`insert into inbox (tenant_id, id, channel_id, provider, body)
    select $1, 'inb_' || ($2 + g), 'chn_vac', 'cloud-api', convert_to(repeat('x', 600), 'UTF8') from generate_series(1, $3) g`, [tenant, (seq += 100_000), n]);
const inboxPages = async () => Number((await owner.query(`select pg_relation_size('inbox') / current_setting('block_size')::int as n`)).rows[0].n);
const vacuumCount = async () => Number((await owner.query(`select vacuum_count from pg_stat_user_tables where relname = 'inbox'`)).rows[0].vacuum_count);
/** Waits until PostgreSQL's statistics count these dead and live inbox rows (backends publish them about once a second). */
async function counted(dead: number, live: number): Promise<void> {
  await owner.query('select pg_stat_force_next_flush()');
  let row: { dead: number; live: number } | undefined;
  for (let i = 0; i < 50; i++) {
    row = (await m.rowCounts()).find((r) => r.table === 'inbox');
    if (row?.dead === dead && row.live === live) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`statistics showed ${JSON.stringify(row)}, not ${dead} dead and ${live} live inbox rows`);
}
/** Each test starts from an empty inbox with no dead rows (TRUNCATE also zeroes both counts). */
async function emptyInbox(): Promise<void> {
  await owner.query('truncate inbox');
  await counted(0, 0);
}

test('a queue table is vacuumed once enough rows died, and its freed space takes the next rows instead of new pages', async () => {
  await emptyInbox();
  await insertRows(500);
  await owner.query('delete from inbox');
  await counted(500, 0);
  assert.deepEqual(await vacuumQueues(m, 1_000), [], '500 dead rows: below the threshold');

  await insertRows(2_000);
  await owner.query('delete from inbox');
  await counted(2_500, 0);
  const pages = await inboxPages();
  const before = await vacuumCount();
  assert.deepEqual(await vacuumQueues(m, 1_000), ['inbox']);
  assert.equal(await vacuumCount(), before + 1);
  assert.equal((await m.rowCounts()).find((r) => r.table === 'inbox')?.dead, 0);

  // The same rows again fit in the pages the dead ones left (without VACUUM the table doubles).
  await insertRows(2_000);
  assert.ok((await inboxPages()) <= pages, `inbox grew from ${pages} to ${await inboxPages()} pages`);
});

test('a backlog of live rows is not rescanned for a few dead ones', async () => {
  await emptyInbox();
  await insertRows(6_000);
  await owner.query(`delete from inbox where id in (select id from inbox order by id limit 1100)`);
  await counted(1_100, 4_900);
  assert.deepEqual(await vacuumQueues(m, 1_000), [], '1,100 dead beside 4,900 live: under a quarter');
  await owner.query(`delete from inbox where id in (select id from inbox order by id limit 1300)`);
  await counted(2_400, 3_600);
  assert.deepEqual(await vacuumQueues(m, 1_000), ['inbox'], '2,400 dead beside 3,600 live');
});

test('only the queue tables can be vacuumed through it', async () => {
  await assert.rejects(m.vacuum('messages' as QueueTable), /not a queue table/);
  await assert.rejects(m.vacuum('inbox; drop table messages' as QueueTable), /not a queue table/);
});

test('the worker vacuums on its own; without the owner URL it does nothing', async () => {
  assert.equal(t.ctx.maintenance, undefined, 'a context on the application role alone');
  await emptyInbox();
  await insertRows(1_500);
  await owner.query('delete from inbox');
  await counted(1_500, 0);
  const before = await vacuumCount();
  // Past its first tick (2 s) without the owner's URL: the dead rows are still there.
  const idle = queueVacuumWorker.start(t.ctx);
  await new Promise((r) => setTimeout(r, 2_300));
  await idle();
  assert.equal(await vacuumCount(), before, 'no maintenance, no VACUUM');

  const stop = queueVacuumWorker.start({ ...t.ctx, maintenance: m });
  try {
    for (let i = 0; i < 60 && (await vacuumCount()) === before; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await vacuumCount(), before + 1, 'vacuumed within its first 2 s');
  } finally {
    await stop();
  }
});
