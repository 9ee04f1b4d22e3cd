import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { connectionsClosed } from '../../src/db/db.js';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

test("closing a pool waits until the server has seen every connection go (a server stopped next terminates none)", async () => {
  const name = `sb-close-${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: db.ownerUrl, max: 4, application_name: name });
  const closed = connectionsClosed(pool);
  let ended = 0;
  pool.on('connect', (client) => client.once('end', () => (ended += 1)));
  // Four connections at once, as a process's workers have a second after start.
  await Promise.all(Array.from({ length: 4 }, () => pool.query('select pg_sleep(0.05)')));
  const admin = new pg.Client({ connectionString: db.ownerUrl });
  await admin.connect();
  try {
    const backends = async () => Number((await admin.query('select count(*)::int as n from pg_stat_activity where application_name = $1', [name])).rows[0].n);
    assert.equal(await backends(), 4);
    await pool.end();
    await closed();
    assert.equal(ended, 4, 'it resolved only after every connection had ended');
    assert.equal(await backends(), 0, 'every backend of the pool has exited');
  } finally {
    await admin.end();
  }
});
