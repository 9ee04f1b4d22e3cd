import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.js';
import { pruneOnce } from '../../src/ops/prune.js';
import { idFloor } from '../../src/core/ids.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

test('the retention sweep deletes only what is past its window (keys, dedupe marks, early statuses), across tenants, in batches', async () => {
  const a = await t.tenant();
  const b = await t.tenant();
  await t.asOwner(async (owner) => {
    for (const tenant of [a.id, b.id]) {
      await owner.query(`insert into idempotency_keys (tenant_id, key, request_hash, response_code, response, created_at) values
        ($1, 'old-1', 'h', 202, '{}', now() - interval '26 hours'), ($1, 'old-2', 'h', 202, '{}', now() - interval '3 days'),
        ($1, 'fresh', 'h', 202, '{}', now() - interval '23 hours')`, [tenant]);
    }
    const ch = (await owner.query<{ id: string }>("select 'chn_x' as id")).rows[0]!.id;
    await owner.query(`insert into inbound_dedupe (tenant_id, channel_id, dedupe_key, at) values ($1, $2, 'old', now() - interval '9 days'), ($1, $2, 'recent', now() - interval '6 days')`, [a.id, ch]);
    // A status for a message never sent (or whose send never recorded its id) waits a day at most.
    await owner.query(`insert into early_statuses (tenant_id, channel_id, provider_message_id, status, at, created_at) values
      ($1, $2, 'wamid.never', 'read', now(), now() - interval '25 hours'), ($1, $2, 'wamid.soon', 'delivered', now(), now() - interval '1 hour')`, [b.id, ch]);
    // A batch of 1 forces several calls: the sweep repeats until a call finds nothing more.
    const n = await pruneOnce(t.ctx, 1);
    assert.equal(n, 6, '4 expired keys + 1 old dedupe mark + 1 stale early status');
    assert.deepEqual((await owner.query('select provider_message_id from early_statuses where tenant_id = $1', [b.id])).rows.map((r) => r.provider_message_id), ['wamid.soon']);
    const keys = (await owner.query('select tenant_id, key from idempotency_keys order by tenant_id, key')).rows;
    assert.deepEqual(keys.map((r) => r.key), ['fresh', 'fresh']);
    assert.deepEqual((await owner.query('select dedupe_key from inbound_dedupe')).rows.map((r) => r.dedupe_key), ['recent']);
  });
});

test('events past EVENTS_RETENTION_DAYS go with their finished deliveries and attempts; a pending delivery keeps its event; 0 keeps all', async () => {
  const a = await t.tenant();
  const b = await t.tenant();
  const now = Date.now();
  const day = 86_400_000;
  // Ids as newId makes them at a given time (the sweep reads the age from the id).
  const evtAt = (ms: number, n: number) => `${idFloor('evt', ms).slice(0, -2)}${String(n).padStart(2, '0')}`;
  const old = now - 31 * day;
  const ids = { gone: evtAt(old, 1), pending: evtAt(old, 2), delivered: evtAt(old, 3), fresh: evtAt(now - 29 * day, 4), otherTenant: evtAt(old, 5) };
  await t.asOwner(async (owner) => {
    const ev = (tenant: string, id: string) => owner.query(`insert into events (tenant_id, id, type, data) values ($1, $2, 'message.received', '{}')`, [tenant, id]);
    for (const id of [ids.gone, ids.pending, ids.delivered, ids.fresh]) await ev(a.id, id);
    await ev(b.id, ids.otherTenant);
    await owner.query(`insert into webhook_endpoints (tenant_id, id, url, event_types, secret_enc) values ($1, 'whe_1', 'https://example.com/h', '{*}', 'sealed')`, [a.id]);
    await owner.query(`insert into event_deliveries (tenant_id, id, endpoint_id, event_id, status) values ($1, 'dlv_p', 'whe_1', $2, 'pending'), ($1, 'dlv_s', 'whe_1', $3, 'succeeded')`, [a.id, ids.pending, ids.delivered]);
    await owner.query(`insert into event_delivery_attempts (tenant_id, id, delivery_id, status_code, latency_ms) values ($1, 'att_1', 'dlv_s', 200, 12), ($1, 'att_2', 'dlv_p', 503, 40)`, [a.id]);

    const keepAll = { ...t.ctx, config: { ...t.ctx.config, eventsRetentionDays: 0 } };
    assert.equal(await pruneOnce(keepAll, 1, now), 0, 'retention 0: nothing deleted');

    assert.equal(t.ctx.config.eventsRetentionDays, 30, 'the default');
    // A batch of 1 event per tenant per call: the sweep repeats until a call finds nothing more.
    assert.equal(await pruneOnce(t.ctx, 1, now), 3, "tenant a's two finished old events and tenant b's");
    const left = (await owner.query('select tenant_id, id from events order by id')).rows;
    assert.deepEqual(left.map((r) => r.id), [ids.pending, ids.fresh], 'kept: the one with a pending delivery, the one inside the window');
    assert.deepEqual((await owner.query('select id from event_deliveries order by id')).rows.map((r) => r.id), ['dlv_p'], 'the finished delivery went with its event');
    assert.deepEqual((await owner.query('select id from event_delivery_attempts order by id')).rows.map((r) => r.id), ['att_2'], 'and its attempts');

    // Once the pending delivery finishes, the next sweep takes its event too.
    await owner.query(`update event_deliveries set status = 'failed' where id = 'dlv_p'`);
    assert.equal(await pruneOnce(t.ctx, 1, now), 1);
    assert.deepEqual((await owner.query('select id from events order by id')).rows.map((r) => r.id), [ids.fresh]);
  });
});

test('one call deletes at most a batch of events in all, across tenants, and says where it stopped; the next resumes there and the sweep reaches every tenant', async () => {
  const tenants = [await t.tenant(), await t.tenant(), await t.tenant()].sort((a, b) => (a.id < b.id ? -1 : 1));
  const now = Date.now();
  const old = now - 31 * 86_400_000;
  const cutoff = idFloor('evt', now - 30 * 86_400_000);
  let n = 0;
  const evtAt = () => `${idFloor('evt', old).slice(0, -3)}${String(n++).padStart(3, '0')}`;
  await t.asOwner(async (owner) => {
    const left = async () => (await owner.query<{ tenant_id: string; n: number }>('select tenant_id, count(*)::int as n from events where tenant_id = any($1) group by tenant_id', [tenants.map((x) => x.id)])).rows
      .reduce<Record<string, number>>((m, r) => ({ ...m, [r.tenant_id]: r.n }), {});
    const addOld = (tenantId: string) => owner.query(`insert into events (tenant_id, id, type, data) values ($1, $2, 'message.received', '{}')`, [tenantId, evtAt()]);
    for (const tenant of tenants) for (let i = 0; i < 4; i++) await addOld(tenant.id);
    const [a, b, c] = tenants.map((x) => x.id) as [string, string, string];
    const call = async (from: string) => (await owner.query<{ deleted: number; stopped_at: string }>('select * from sb_prune_events($1, 5, $2)', [cutoff, from])).rows[0]!;
    // A single call with a batch of 5: five events go, not five per tenant (other tests' tenants
    // have nothing left past the window), and it stopped in the second tenant.
    assert.deepEqual(await call(''), { deleted: 5, stopped_at: b });
    assert.deepEqual(await left(), { [b]: 3, [c]: 4 });
    // The next call starts where that one stopped: an event the first tenant gained meanwhile is
    // left for the next sweep, not probed again.
    await addOld(a);
    assert.deepEqual(await call(b), { deleted: 5, stopped_at: c });
    assert.deepEqual(await left(), { [a]: 1, [c]: 2 });
    // The sweep repeats while a call finds a whole batch: every tenant's old events go.
    assert.equal(await pruneOnce(t.ctx, 5, now), 3);
    assert.deepEqual(await left(), {});
  });
});

test('outbound status changes older than EVENTS_RETENTION_DAYS go, across tenants; 0 keeps them', async () => {
  const a = await t.tenant();
  const b = await t.tenant();
  await t.asOwner(async (owner) => {
    const log = (tenant: string, message: string, daysAgo: number) =>
      owner.query(`insert into message_status_log (tenant_id, message_id, status, at) values ($1, $2, 'delivered', now() - make_interval(days => $3))`, [tenant, message, daysAgo]);
    await log(a.id, 'msg_old_a', 31);
    await log(a.id, 'msg_older_a', 90);
    await log(a.id, 'msg_fresh_a', 29);
    await log(b.id, 'msg_old_b', 45);
    const keepAll = { ...t.ctx, config: { ...t.ctx.config, eventsRetentionDays: 0 } };
    await pruneOnce(keepAll, 1);
    assert.equal((await owner.query('select count(*)::int as n from message_status_log')).rows[0].n, 4, 'retention 0: nothing deleted');
    // A batch of 1 forces several calls.
    await pruneOnce(t.ctx, 1);
    assert.deepEqual((await owner.query('select message_id from message_status_log order by message_id')).rows.map((r) => r.message_id), ['msg_fresh_a']);
  });
});
