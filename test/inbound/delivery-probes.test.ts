/**
 * The probe budget goes round the failing endpoints (migration 042, decision 052): long-dead
 * endpoints with old backlogs do not keep an endpoint that failed once waiting behind them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../support/app.js';
import { closeApp, owner } from './support.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => closeApp(t));

test('40 dead endpoints with backlogs due an hour ago and a 32-probe budget: an endpoint that failed a minute ago is probed in the second claim, not after the backlogs', async () => {
  const db = owner(t);
  const tenants = await Promise.all(Array.from({ length: 41 }, () => t.tenant()));
  const endpoints: string[] = [];
  for (const [i, tn] of tenants.entries()) {
    const ep = `whe_PROBE${String(i).padStart(19, '0')}`;
    endpoints.push(ep);
    await sql`insert into webhook_endpoints (tenant_id, id, url, event_types, secret_enc, failing_since)
      values (${tn.id}, ${ep}, 'https://hooks.example.test/x', '{*}', 'unused', now() - interval '2 hours')`.execute(db);
    // The last tenant's endpoint failed once, a minute ago, with one delivery due; the others have 20 due for an hour.
    const n = i === 40 ? 1 : 20;
    const due = i === 40 ? sql`now() - interval '1 minute'` : sql`now() - interval '1 hour' + g * interval '1 second'`;
    await sql`insert into events (tenant_id, id, type, data) select ${tn.id}, 'evt_P' || lpad(${i}::text, 3, '0') || lpad(g::text, 19, '0'), 'conversation.updated', '{}' from generate_series(1, ${n}::int) g`.execute(db);
    await sql`insert into event_deliveries (tenant_id, id, endpoint_id, event_id, next_attempt_at)
      select ${tn.id}, 'dlv_P' || lpad(${i}::text, 3, '0') || lpad(g::text, 19, '0'), ${ep}, 'evt_P' || lpad(${i}::text, 3, '0') || lpad(g::text, 19, '0'), ${due}
      from generate_series(1, ${n}::int) g`.execute(db);
  }
  const fresh = endpoints[40]!;
  // Each round stands for one request timeout: the probes claimed fail (their rows leave the
  // backlog here, as a retry scheduled hours later would), the next rows of each backlog are due.
  let round = 0;
  let probedFresh = 0;
  for (; round < 6 && probedFresh === 0; round++) {
    const { rows } = await sql<{ id: string; endpoint_id: string; probe: boolean }>`select * from sb_event_delivery_claim_lanes(0, 4, 60000, '{}', '{}', 32, '{}', '{}', '{}')`.execute(db);
    assert.ok(rows.length <= 32 && rows.every((r) => r.probe));
    assert.equal(new Set(rows.map((r) => r.endpoint_id)).size, rows.length, 'one probe an endpoint');
    probedFresh = rows.filter((r) => r.endpoint_id === fresh).length;
    await sql`update event_deliveries set status = 'failed', locked_until = null where id = any(${rows.map((r) => r.id)}::text[])`.execute(db);
  }
  assert.equal(probedFresh, 1, 'the endpoint that failed a minute ago was probed');
  assert.ok(round <= 2, `probed in claim ${round}`);
});

test("probes a tenant: at most four at once, counting those the process already runs; endpoints being probed are left out", async () => {
  const db = owner(t);
  const tn = await t.tenant();
  const eps = Array.from({ length: 6 }, (_, i) => `whe_ROOM${tn.id.slice(-12)}${String(i).padStart(8, '0')}`);
  for (const [i, ep] of eps.entries()) {
    await sql`insert into webhook_endpoints (tenant_id, id, url, event_types, secret_enc, failing_since)
      values (${tn.id}, ${ep}, 'https://hooks.example.test/x', '{*}', 'unused', now() - interval '2 hours')`.execute(db);
    const evt = `evt_R${tn.id.slice(-12)}${String(i).padStart(13, '0')}`;
    await sql`insert into events (tenant_id, id, type, data) values (${tn.id}, ${evt}, 'conversation.updated', '{}')`.execute(db);
    await sql`insert into event_deliveries (tenant_id, id, endpoint_id, event_id, next_attempt_at)
      values (${tn.id}, ${`dlv_R${tn.id.slice(-12)}${String(i).padStart(13, '0')}`}, ${ep}, ${evt}, now() - interval '1 minute')`.execute(db);
  }
  const claim = async (probing: string[], running: number) => {
    const { rows } = await sql<{ tenant_id: string; endpoint_id: string; probe: boolean }>`select * from sb_event_delivery_claim_lanes(0, 4, 60000, '{}', '{}', 32,
      ${probing}::text[], ${running ? [tn.id] : []}::text[], ${running ? [running] : []}::int[])`.execute(db);
    await sql`update event_deliveries set locked_until = null where tenant_id = ${tn.id}`.execute(db);
    return rows.filter((r) => r.tenant_id === tn.id);
  };
  assert.equal((await claim([], 0)).length, 4);
  const oneMore = await claim(eps.slice(0, 3), 3);
  assert.equal(oneMore.length, 1);
  assert.ok(!eps.slice(0, 3).includes(oneMore[0]!.endpoint_id), 'not an endpoint already being probed');
  assert.equal((await claim(eps.slice(0, 4), 4)).length, 0);
});
