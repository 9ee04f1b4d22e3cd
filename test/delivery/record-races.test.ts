/**
 * Saving a flush of send results while the inbound path (statuses, echoes) and parked statuses race
 * with it (decision 045, amended): a deadlock must not lose the flush, and a status parked for one
 * line is applied to that line's message only, with its `message.status` event.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asTenantId, withTenant } from '../../src/db/db.js';
import { createProcessor, type ClaimedJob } from '../../src/delivery/process.js';
import { DEFAULT_RETRY } from '../../src/delivery/backoff.js';
import { applyDeliveryStatus } from '../../src/messages/status.js';
import { send, setup, text, type Setup } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A processor whose provider answers with `answer(clientRef)` (our message id), without jitter. */
function processorWith(s: Setup, worker: string, answer: (clientRef: string) => Promise<string>) {
  const providers = s.t.ctx.providers;
  const ctx = {
    ...s.t.ctx,
    providers: {
      ...providers,
      definition: (p: string) => ({ ...providers.definition(p), rateDefaults: { ...providers.definition(p).rateDefaults, jitterMs: 0 } }),
      adapter: () => ({ send: async (_ch: unknown, req: { clientRef: string }) => ({ providerMessageId: await answer(req.clientRef) }) }),
    },
  } as unknown as typeof s.t.ctx;
  return createProcessor(ctx, { worker, retry: DEFAULT_RETRY });
}

async function claim(s: Setup, worker: string, n: number): Promise<ClaimedJob[]> {
  const jobs: ClaimedJob[] = [];
  for (let i = 0; i < 50 && jobs.length < n; i++) {
    jobs.push(...await s.t.asOwner(async (c) => (await c.query(`select * from sb_claim_jobs($1, 100, 60000)`, [worker])).rows as ClaimedJob[]));
    if (jobs.length < n) await sleep(100);
  }
  assert.equal(jobs.length, n, 'claimed');
  return jobs;
}

describe('recording send results against racing statuses', () => {
  let s: Setup;
  before(async () => {
    s = await setup({ channels: 2, rate: 50 });
  });
  after(() => s.close());

  it("a status parked for line A is not taken by line B's send carrying the same provider id; A gets it, with its event", async () => {
    const [chA, chB] = s.channels as [string, string];
    const a = (await send(s.t, s.tenant.key, text(chA, '+16505550401'))).json().id as string;
    const b = (await send(s.t, s.tenant.key, text(chB, '+16505550402'))).json().id as string;
    // A's "delivered" names provider id 4711 and beats A's send result: parked.
    const parked = await withTenant(s.t.ctx.db, asTenantId(s.tenant.id), (tx) => applyDeliveryStatus(tx, { channelId: chA, providerMessageId: '4711', status: 'delivered', at: new Date() }));
    assert.equal(parked, null);
    const jobs = await claim(s, 'w1', 2);
    const p = processorWith(s, 'w1', async () => '4711');
    await Promise.all(p.processJobs(jobs.filter((j) => j.message_id === b)));
    const left = await s.t.asOwner(async (c) => (await c.query('select channel_id from early_statuses where tenant_id = $1', [s.tenant.id])).rows);
    assert.deepEqual(left, [{ channel_id: chA }], "B's send left A's parked status alone");
    await Promise.all(p.processJobs(jobs.filter((j) => j.message_id === a)));
    const rows = await s.t.asOwner(async (c) => (await c.query('select id, status from messages where id = any($1)', [[a, b]])).rows);
    assert.equal(rows.find((m) => m.id === a).status, 'delivered');
    assert.equal(rows.find((m) => m.id === b).status, 'sent');
    const events = await s.t.asOwner(async (c) => (await c.query(`select data from events where tenant_id = $1 and type = 'message.status' and data->>'message_id' = $2 order by id`, [s.tenant.id, a])).rows);
    assert.deepEqual(events.map((e) => [e.data.status, e.data.applied, e.data.provider_message_id]), [['sent', true, '4711'], ['delivered', true, '4711']]);
  });

  it('a deadlock with the inbound path while saving a failure runs the flush again: no result lost, nothing sent twice', { timeout: 30_000 }, async () => {
    const ch = s.channels[0]!;
    const c = (await send(s.t, s.tenant.key, text(ch, '+16505550501'))).json().id as string; // holds the first flush
    const a = (await send(s.t, s.tenant.key, text(ch, '+16505550502'))).json().id as string; // times out (retryable); its echo arrives
    const b = (await send(s.t, s.tenant.key, text(ch, '+16505550503'))).json().id as string; // sent
    const jobs = await claim(s, 'w2', 3);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const sends = new Map<string, number>();
    const p = processorWith(s, 'w2', async (ref) => {
      sends.set(ref, (sends.get(ref) ?? 0) + 1);
      if (ref === c) return 'pc';
      await gate;
      if (ref === a) throw new Error('timeout');
      return 'pb';
    });
    let inboundOutcome = '';
    await s.t.asOwner(async (jobsLock) => s.t.asOwner(async (inbound) => {
      await jobsLock.query('begin');
      await jobsLock.query('select 1 from delivery_jobs where tenant_id = $1 for update', [s.tenant.id]);
      const done = p.processJobs(jobs);
      await sleep(200); // flush 1 = [c], waiting for the job locks
      open();
      await sleep(200); // a and b answered: flush 2 = [a, b]
      // The inbound transaction applies a's echo (locks a's row) …
      await inbound.query('begin');
      await inbound.query(`select set_config('app.tenant_id', $1, true)`, [s.tenant.id]);
      await inbound.query(`update messages set status = 'sent', updated_at = now() where id = $1`, [a]);
      await jobsLock.query('commit');
      await sleep(300); // flush 2 has locked b and waits for a
      // … then a status of b in the same batch: one of the two is aborted as a deadlock.
      inboundOutcome = await inbound.query(`update messages set updated_at = now() where id = $1`, [b]).then(() => 'ok', (e: { code?: string }) => String(e.code));
      await inbound.query(inboundOutcome === 'ok' ? 'commit' : 'rollback');
      await Promise.all(done);
    }));
    const rows = await s.t.asOwner(async (o) => (await o.query(
      `select m.id, m.status, m.provider_message_id, j.lease_owner from messages m left join delivery_jobs j on j.message_id = m.id where m.id = any($1)`, [[a, b, c]])).rows);
    const byId = new Map(rows.map((r) => [r.id, r]));
    assert.deepEqual([byId.get(b).status, byId.get(b).provider_message_id, byId.get(b).lease_owner], ['sent', 'pb', null], `b saved (inbound: ${inboundOutcome})`);
    assert.deepEqual([byId.get(c).status, byId.get(c).provider_message_id], ['sent', 'pc']);
    assert.equal(byId.get(a).lease_owner, null, "a's job handed back for its retry, not left leased");
    assert.deepEqual([...sends.values()], [1, 1, 1], 'each sent once');
  });
});
