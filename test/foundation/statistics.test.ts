import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
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
  const owner = new pg.Client({ connectionString: t.testDb.ownerUrl });
  await owner.connect();
  try {
    const analyzed = async (table: string) => (await owner.query(`select last_analyze from pg_stat_user_tables where relname = $1`, [table])).rows[0]!.last_analyze as Date | null;
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
  } finally {
    await owner.end();
  }
});
