import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.js';
import { pruneOnce } from '../../src/ops/prune.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

test('the retention sweep deletes only what is past its window, across tenants, in batches', async () => {
  const a = await t.tenant();
  const b = await t.tenant();
  const owner = new pg.Client({ connectionString: t.testDb.ownerUrl });
  await owner.connect();
  try {
    for (const tenant of [a.id, b.id]) {
      await owner.query(`insert into idempotency_keys (tenant_id, key, request_hash, response_code, response, created_at) values
        ($1, 'old-1', 'h', 202, '{}', now() - interval '26 hours'), ($1, 'old-2', 'h', 202, '{}', now() - interval '3 days'),
        ($1, 'fresh', 'h', 202, '{}', now() - interval '23 hours')`, [tenant]);
    }
    const ch = (await owner.query<{ id: string }>("select 'chn_x' as id")).rows[0]!.id;
    await owner.query(`insert into inbound_dedupe (tenant_id, channel_id, dedupe_key, at) values ($1, $2, 'old', now() - interval '9 days'), ($1, $2, 'recent', now() - interval '6 days')`, [a.id, ch]);
    // A batch of 1 forces several calls: the sweep repeats until a call finds nothing more.
    const n = await pruneOnce(t.ctx, 1);
    assert.equal(n, 5, '4 expired keys + 1 old dedupe mark');
    const keys = (await owner.query('select tenant_id, key from idempotency_keys order by tenant_id, key')).rows;
    assert.deepEqual(keys.map((r) => r.key), ['fresh', 'fresh']);
    assert.deepEqual((await owner.query('select dedupe_key from inbound_dedupe')).rows.map((r) => r.dedupe_key), ['recent']);
  } finally {
    await owner.end();
  }
});
