import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestApp, bearer, type TestApp } from '../support/app.js';
import { tenancyChecks, tenantTables } from '../../src/db/rls-check.js';
import { TEST_APP_ROLE } from '../support/db.js';

let t: TestApp;
let a: { id: string; key: string };
before(async () => {
  t = await startTestApp();
  a = await t.tenant();
  await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(a.key), payload: { name: 'k2' } });
  await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(a.key), payload: { email: 'rls@a.example', role: 'owner', password: 'correct horse battery' } });
});
after(() => t.close());

test('every tenant table (from the catalog) has RLS enabled and forced, tenant_id first in its key', async () => {
  const checks = await tenancyChecks(t.testDb.ownerUrl, TEST_APP_ROLE);
  const tables = checks.filter((c) => c.name.startsWith('tenant table '));
  assert.ok(tables.length >= 6, `found only ${tables.length} tenant tables`);
  for (const c of checks) assert.ok(c.ok, `${c.name}: ${c.detail}`);
  console.log(`RLS forced on ${tables.length} tenant tables: ${tables.map((c) => c.name.slice(13)).join(', ')}`);
});

test('with no tenant set, the app role reads no rows from any tenant table', async () => {
  const owner = new pg.Client({ connectionString: t.testDb.ownerUrl });
  const app = new pg.Client({ connectionString: t.testDb.appUrl });
  await owner.connect();
  await app.connect();
  try {
    let withRows = 0;
    for (const table of await tenantTables(t.testDb.ownerUrl)) {
      const ownerCount = Number((await owner.query(`select count(*) from ${table}`)).rows[0].count);
      const appCount = Number((await app.query(`select count(*) from ${table}`)).rows[0].count);
      assert.equal(appCount, 0, `${table}: ${appCount} rows visible with no tenant set`);
      if (ownerCount > 0) withRows += 1;
    }
    assert.ok(withRows >= 4, 'the check ran against tables that actually hold rows');
    // A tenant set: only its own rows; and it cannot write rows for another tenant.
    await app.query('begin');
    await app.query("select set_config('app.tenant_id', $1, true)", [a.id]);
    assert.ok(Number((await app.query('select count(*) from api_keys')).rows[0].count) >= 2);
    await assert.rejects(
      app.query("insert into audit_log (tenant_id, id, actor_type, action) values ('ten_other', 'aud_x', 'cli', 'x')"),
      /row-level security/,
    );
    await app.query('rollback');
    // The setting is transaction-local: it does not leak to the next use of the connection.
    assert.equal(Number((await app.query('select count(*) from api_keys')).rows[0].count), 0);
  } finally {
    await owner.end();
    await app.end();
  }
});
