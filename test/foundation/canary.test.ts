import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, bearer, type TestApp } from '../support/app.js';
import { createCloudApiSimulator, type CloudApiSimulator } from '../../src/providers/cloud-api/index.js';

/** A canary secret stored in a channel appears in no API response, no log line, no database column. */
const CANARY_TOKEN = 'EAAGcanaryTOKEN7b1f4e2d9c8a';
const CANARY_SECRET = 'canary-app-secret-5e6f7a8b';
let t: TestApp;
let sim: CloudApiSimulator;
const bodies: string[] = [];

before(async () => {
  t = await startTestApp();
  sim = createCloudApiSimulator({ phones: [{ phoneNumberId: '3000001', wabaId: '4000001', accessToken: CANARY_TOKEN }], appSecret: CANARY_SECRET });
  await sim.listen();
});
after(async () => {
  await sim.close();
  await t.close();
});

test('the canary never leaves the vault', async () => {
  const a = await t.tenant();
  const send = async (method: string, url: string, payload?: unknown) => {
    const r = await t.app.inject({ method: method as 'GET', url, headers: bearer(a.key), ...(payload ? { payload } : {}) });
    bodies.push(r.body, JSON.stringify(r.headers));
    return r;
  };
  const created = await send('POST', '/v1/channels', {
    name: 'canary', provider: 'cloud-api',
    credentials: { phoneNumberId: '3000001', wabaId: '4000001', accessToken: CANARY_TOKEN, appSecret: CANARY_SECRET, verifyToken: 'canary-verify-token', graphBaseUrl: sim.url },
  });
  assert.equal(created.statusCode, 201, created.body);
  const id = created.json().id;
  assert.equal(created.json().credentials.accessToken, '********');
  await send('GET', `/v1/channels/${id}`);
  await send('GET', '/v1/channels');
  await send('PATCH', `/v1/channels/${id}`, { name: 'renamed', credentials: { accessToken: '********' } });
  await send('POST', `/v1/channels/${id}/test`);
  await send('GET', '/v1/audit-log');
  // A wrong token on update: the provider error must not echo the secret either.
  await send('PATCH', `/v1/channels/${id}`, { credentials: { accessToken: `${CANARY_TOKEN}-wrong` } });

  for (const canary of [CANARY_TOKEN, CANARY_SECRET, 'canary-verify-token']) {
    for (const b of bodies) assert.ok(!b.includes(canary), `an API response contains ${canary}`);
    for (const line of t.logs) assert.ok(!line.includes(canary), `a log line contains ${canary}: ${line.slice(0, 200)}`);
  }
  assert.ok(t.logs.length > 5, 'logs were captured');

  // Every text-like column of every table, read as the owner.
  await t.asOwner(async (owner) => {
    const cols = (await owner.query(
      `select table_name, column_name from information_schema.columns
       where table_schema = 'public' and data_type in ('text', 'jsonb', 'json', 'character varying', 'bytea', 'ARRAY')`,
    )).rows as { table_name: string; column_name: string }[];
    assert.ok(cols.length > 20);
    for (const { table_name, column_name } of cols) {
      const { rows } = await owner.query(
        `select count(*)::int as n from ${table_name} where encode(convert_to(${column_name}::text, 'UTF8'), 'escape') like '%' || $1 || '%' or ${column_name}::text like '%' || $1 || '%'`,
        [CANARY_TOKEN],
      );
      assert.equal(rows[0].n, 0, `${table_name}.${column_name} holds the canary in plaintext`);
    }
  });
});
