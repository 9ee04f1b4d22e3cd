import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, bearer, type TestApp } from '../support/app.js';
import { refreshStatistics } from '../../src/ops/statistics.js';
import { createCloudApiSimulator, type CloudApiSimulator } from '../../src/providers/cloud-api/index.js';

let t: TestApp;
let sim: CloudApiSimulator;
before(async () => {
  t = await startTestApp();
  sim = createCloudApiSimulator({ phones: [{ phoneNumberId: '777000000000001' }] });
  await sim.listen();
});
after(async () => {
  await t.close();
  await sim.close();
});

test('young tables are analyzed once they have enough changes, then left to autovacuum', async () => {
  await t.asOwner(async (owner) => {
    const analyzed = async (table: string) => (await owner.query(`select last_analyze from pg_stat_user_tables where relname = $1`, [table])).rows[0]!.last_analyze as Date | null;
    // Where autovacuum runs (the embedded server), its ANALYZE of these young tables could come
    // first (it fires at 50 rows + 10 %) and leave nothing for the refresh to do.
    for (const table of ['messages', 'delivery_jobs']) await owner.query(`alter table ${table} set (autovacuum_enabled = false)`);
    assert.deepEqual(await refreshStatistics(t.ctx, 50), [], 'nothing has changed enough yet');
    const tenant = await t.tenant();
    const ch = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(tenant.key), payload: { name: 'l', provider: 'cloud-api', credentials: sim.credentials(0) } });
    const r = await t.app.inject({
      method: 'POST', url: '/v1/messages/batch', headers: bearer(tenant.key),
      payload: { messages: Array.from({ length: 120 }, (_, i) => ({ channel_id: ch.json().id, to: `+1650555${String(1000 + i)}`, content: { type: 'text', text: 'x' } })) },
    });
    assert.equal(r.statusCode, 202, r.body);
    assert.equal(await analyzed('messages'), null);
    // Backends publish their table counters about once a second: wait for them, then refresh.
    let tables: string[] = [];
    for (let i = 0; i < 50 && !tables.includes('messages'); i++) {
      await new Promise((res) => setTimeout(res, 100));
      tables = [...tables, ...(await refreshStatistics(t.ctx, 50))];
    }
    assert.ok(tables.includes('messages') && tables.includes('delivery_jobs'), tables.join(','));
    assert.ok(await analyzed('messages'), 'ANALYZE ran on messages');
    assert.ok(!(await refreshStatistics(t.ctx, 50)).includes('messages'), 'unchanged since: not analyzed again');
  });
});

test('a table is re-analyzed when its size changed by half, not for rows that came and went', async () => {
  await t.asOwner(async (owner) => {
    let seq = 0;
    const insert = (n: number) =>
      owner.query(`insert into inbound_rejects (id, provider, reason, body_bytes, body_sha256) select 'inb_s' || ($1 + g), 'cloud-api', 'unroutable', 1, 'x' from generate_series(1, $2) g`, [(seq += 100_000), n]);
    const deleteOldest = (n: number) => owner.query(`delete from inbound_rejects where id in (select id from inbound_rejects order by id limit $1)`, [n]);
    /** Waits until the statistics count `live` rows (backends publish their counters about once a second). */
    const live = async (n: number) => {
      await owner.query('select pg_stat_force_next_flush()');
      for (let i = 0; i < 50; i++) {
        const r = await owner.query(`select n_live_tup from pg_stat_user_tables where relname = 'inbound_rejects'`);
        if (Number(r.rows[0].n_live_tup) === n) return;
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.fail(`inbound_rejects never counted ${n} live rows`);
    };
    const analyzedNow = async () => (await refreshStatistics(t.ctx, 50)).includes('inbound_rejects');
    // Where autovacuum runs (the embedded server), its own ANALYZE would move the counts under test.
    await owner.query('alter table inbound_rejects set (autovacuum_enabled = false)');
    await insert(1_000);
    await live(1_000);
    assert.ok(await analyzedNow(), 'never analyzed, 1,000 rows written');
    // At the refresh's own statistics target (25, migration 033), not the server's 100: 1,000
    // distinct ids make a histogram of 25 buckets (26 bounds), where 100 would make 101 bounds.
    const bounds = await owner.query(`select array_length(histogram_bounds::text::text[], 1) as n from pg_stats where tablename = 'inbound_rejects' and attname = 'id'`);
    assert.equal(Number(bounds.rows[0].n), 26);
    // A queue at a steady size: 3,000 rows in and out, 1,000 live throughout.
    for (let i = 0; i < 3; i++) {
      await insert(1_000);
      await deleteOldest(1_000);
    }
    await live(1_000);
    assert.ok(!(await analyzedNow()), 'rows came and went; the size did not change');
    await insert(600);
    await live(1_600);
    assert.ok(await analyzedNow(), 'a backlog: 1.6× the rows the last analysis counted');
    await deleteOldest(900);
    await live(700);
    assert.ok(await analyzedNow(), 'drained under half of it');
    assert.ok(!(await analyzedNow()), 'analyzed at this size already');
  });
});
