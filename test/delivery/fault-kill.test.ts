/**
 * Three worker processes, one SIGKILLed mid-run (real child processes, real PostgreSQL, the Cloud API
 * simulator over HTTP). Default size proves the properties in seconds; the full size is
 *   SB_FAULT_SCALE=1 npm test -- test/delivery/fault-kill      (20,000 messages, 50 channels, 500 conversations)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { createCloudApiSimulator, type CloudApiSimulator } from '../../src/providers/cloud-api/index.js';
import { addChannel, text, until } from './helpers.js';

const SCALE = Number(process.env.SB_FAULT_SCALE ?? 0.1);
const MESSAGES = Math.round(20_000 * SCALE);
const CHANNELS = 50;
const CONVERSATIONS = Math.max(100, Math.round(500 * SCALE));
// 10/s per line: the run lasts long enough (≥ 4 s by default) for the kill to land mid-run.
const RATE = 10;
const MASTER_KEY = randomBytes(32).toString('base64');

function spawnWorker(appUrl: string, id: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/delivery/fault-worker.ts'], {
    env: { ...process.env, SB_WORKER_DB: appUrl, MASTER_KEY, SB_WORKER_ID: id, SB_WORKER_LEASE_MS: '5000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`worker ${id} exited with ${code} before ready`)));
  });
}

describe(`SIGKILL one of three workers: ${MESSAGES} messages, ${CHANNELS} channels, ${CONVERSATIONS} conversations`, () => {
  let t: TestApp;
  let sim: CloudApiSimulator;
  let owner: pg.Client | undefined;
  const workers: ChildProcess[] = [];
  before(async () => {
    sim = createCloudApiSimulator({ phones: Array.from({ length: CHANNELS }, (_, i) => ({ phoneNumberId: String(200_000_000_000_000 + i) })) });
    await sim.listen();
    // The child workers decrypt channel credentials: they share the app's vault key.
    t = await startTestApp({ MASTER_KEY });
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await owner?.end();
    await t.close();
    await sim.close();
  });

  it('delivers everything, in order per conversation, within every channel rate, with few duplicates', { timeout: 600_000 }, async () => {
    const tenant = await t.tenant();
    const channels: string[] = [];
    for (let i = 0; i < CHANNELS; i++) channels.push(await addChannel(t, tenant.key, sim, i, RATE));
    const to = (c: number) => `+1650558${String(c).padStart(4, '0')}`;
    const perConv = Math.ceil(MESSAGES / CONVERSATIONS);
    const all: { c: number; k: number }[] = [];
    for (let k = 0; k < perConv; k++) for (let c = 0; c < CONVERSATIONS && all.length < MESSAGES; c++) all.push({ c, k });
    const db = new pg.Client({ connectionString: t.testDb.ownerUrl });
    await db.connect();
    owner = db;
    // Workers boot in parallel and are all polling before the first message exists.
    workers.push(...(await Promise.all([0, 1, 2].map((i) => spawnWorker(t.testDb.appUrl, `w${i}`)))));
    for (let i = 0; i < all.length; i += 1000) {
      const messages = all.slice(i, i + 1000).map(({ c, k }) => text(channels[c % CHANNELS]!, to(c), `n${k}`));
      const r = await t.app.inject({ method: 'POST', url: '/v1/messages/batch', headers: bearer(tenant.key), payload: { messages } });
      assert.equal(r.statusCode, 202, r.body.slice(0, 200));
    }

    await until(() => sim.sent.length >= MESSAGES * 0.3, 120_000, '30 % sent');
    workers[0]!.kill('SIGKILL');
    const held = Number((await db.query(`select count(*) from delivery_jobs where lease_owner = 'w0'`)).rows[0].count);
    const killedAt = sim.sent.length;
    assert.ok(killedAt < MESSAGES * 0.8, `the kill must land mid-run (it came at ${killedAt} of ${MESSAGES})`);

    await until(async () => Number((await db.query(`select count(*) from delivery_jobs`)).rows[0].count) === 0, 300_000, 'every job to finish', 500);
    const statuses = (await db.query(`select status, count(*)::int as n from messages where direction = 'out' group by 1`)).rows;
    assert.deepEqual(statuses, [{ status: 'sent', n: MESSAGES }], 'every message sent, none lost');

    const ids = sim.sent.map((x) => String(x.body.biz_opaque_callback_data));
    const distinct = new Set(ids);
    assert.equal(distinct.size, MESSAGES, 'the provider got every message');
    const dups = ids.length - distinct.size;
    const retried = Number((await db.query(`select count(*) from messages where attempts > 1`)).rows[0].count);
    process.stdout.write(`# killed at ${killedAt} sent, ${held} leased by the dead worker, ${dups} duplicates, ${retried} messages needed more than one attempt, ${sim.throttled} throttled\n`);
    assert.ok(dups <= held, `${dups} duplicates at the provider, ${held} jobs were in flight at the kill`);

    const seen = new Set<string>();
    const lastK = new Map<string, number>();
    for (const x of sim.sent) {
      const id = String(x.body.biz_opaque_callback_data);
      if (seen.has(id)) continue;
      seen.add(id);
      const k = Number((x.body.text as { body: string }).body.slice(1));
      const peer = String(x.body.to);
      assert.ok((lastK.get(peer) ?? -1) < k, `conversation ${peer} out of order: n${k} after n${lastK.get(peer)}`);
      lastK.set(peer, k);
    }
    for (const p of sim.phones) {
      const max = sim.maxMessagesPerSecond(p.phoneNumberId);
      assert.ok(max <= RATE, `line ${p.phoneNumberId}: ${max} in one second, limit ${RATE}`);
    }
  });
});
