/**
 * `npm run bench:processing-ab` — two versions of the processing function (`sb_ingest_received`)
 * against each other, alternating call by call on one PostgreSQL backend (A B B A …), so that a
 * noisy machine slows both alike. Backend CPU per message from /proc/<pid>/schedstat (Linux; the
 * database must run on this machine). Each call processes BATCH Cloud API messages on 4 lines of one
 * tenant, NEW of them from senders never seen before (the inbound bench's mix); statistics are
 * refreshed every 50 calls, as the statistics worker keeps them current. The first 20 calls warm up.
 * Version A is the function as a migration file defines it (default: the migration before the newest
 * one that defines it), B likewise (default: the newest), installed as `ab.sb_ingest_received`.
 * Options: BENCH_DATABASE_URL, AB_A / AB_B (migration files), AB_CALLS (400), AB_BATCH (73), AB_NEW (0.67).
 * Ends with one JSON line: µs of backend CPU per message for each, and B / A.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';

process.env.SB_TEST_ADMIN_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const { startTestApp } = await import('../test/support/app.js');
const { TEST_APP_ROLE } = await import('../test/support/db.js');
const { makeChannel, cloudCreds, cloudPayload } = await import('../test/inbound/support.js');
const { ingestReceived } = await import('../src/inbound/ingest-received.js');
const { openDatabase } = await import('../src/db/db.js');
const { InboxWriter } = await import('../src/inbound/inbox.js');

const DIR = 'src/db/migrations';
const defining = readdirSync(DIR).filter((f) => /create or replace function sb_ingest_received\(/.test(readFileSync(join(DIR, f), 'utf8'))).sort();
const fileA = process.env.AB_A ?? join(DIR, defining.at(-2) ?? defining.at(-1)!);
const fileB = process.env.AB_B ?? join(DIR, defining.at(-1)!);
const CALLS = Number(process.env.AB_CALLS ?? 400);
const BATCH = Number(process.env.AB_BATCH ?? 73);
const NEW = Number(process.env.AB_NEW ?? 2 / 3);
const WARMUP = 20;
const log = (...a: unknown[]) => console.error('[processing-ab]', ...a);

const functionOf = (file: string) => {
  const s = readFileSync(file, 'utf8');
  const at = s.indexOf('create or replace function sb_ingest_received(');
  if (at < 0) throw new Error(`${file} does not define sb_ingest_received`);
  return s.slice(at);
};
log(`A = ${fileA}, B = ${fileB}; ${CALLS} calls of ${BATCH} messages, ${Math.round(NEW * 100)} % from new senders`);

const t = await startTestApp();
const owner = new pg.Client({ connectionString: t.testDb.ownerUrl });
const fresh = openDatabase(t.testDb.appUrl, 1);
try {
  const tenant = await t.tenant();
  const lines: { line: string; id: string }[] = [];
  for (const line of ['555000101', '555000102', '555000103', '555000104']) lines.push({ line, ...(await makeChannel(t, tenant.id, 'cloud-api', cloudCreds(line))) });
  await owner.connect();
  await owner.query(functionOf(fileA));
  await owner.query('create schema ab');
  await owner.query(functionOf(fileB).replace('create or replace function sb_ingest_received(', 'create or replace function ab.sb_ingest_received('));
  await owner.query(`grant usage on schema ab to ${TEST_APP_ROLE}; grant execute on all functions in schema ab to ${TEST_APP_ROLE}`);

  // One connection: its search_path picks the version; its backend's CPU is what is measured.
  const ctx = { ...t.ctx, db: fresh.db };
  const inbox = new InboxWriter(ctx);
  const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(fresh.db)).rows[0]!.pid;
  const cpuNs = () => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  const total = { A: { ns: 0, messages: 0 }, B: { ns: 0, messages: 0 } };
  const regulars: string[] = [];
  let seq = 0;
  let senders = 0;
  for (let call = 0; call < CALLS; call++) {
    if (call % 50 === 10) await owner.query('analyze contacts; analyze conversations; analyze messages; analyze events');
    const v = call % 4 === 0 || call % 4 === 3 ? 'A' : 'B';
    await sql.raw(v === 'A' ? 'set search_path = public' : 'set search_path = ab, public').execute(fresh.db);
    // The rows committed to the inbox as the acknowledge path commits them (untimed).
    const items = await Promise.all(Array.from({ length: BATCH }, async () => {
      const ch = lines[seq++ % lines.length]!;
      const known = regulars.length > 100 && Math.random() >= NEW;
      const from = known ? regulars[Math.floor(Math.random() * regulars.length)]! : `1555${2_000_000 + senders++}`;
      if (!known && regulars.length < 5000) regulars.push(from);
      const body = cloudPayload([{ phoneNumberId: ch.line, from, id: `wamid.ab${seq}`, name: `N ${from}` }]);
      const w = { tenantId: tenant.id, channelId: ch.id, provider: 'cloud-api', body: Buffer.from(body), headers: { 'content-type': 'application/json' }, split: false };
      return { ...w, externalId: ch.line, id: await inbox.put(w) };
    }));
    const before = cpuNs();
    const left = await ingestReceived(ctx, tenant.id, items);
    const ns = cpuNs() - before;
    if (left.length > 0) throw new Error(`${left.length} rows left for the general path`);
    if (call >= WARMUP) {
      total[v].ns += ns;
      total[v].messages += BATCH;
    }
    if ((call + 1) % 50 === 0) log(`${call + 1}/${CALLS} calls`);
  }
  const per = (x: { ns: number; messages: number }) => Math.round(x.ns / x.messages / 100) / 10;
  console.log(JSON.stringify({ a: fileA, b: fileB, a_us_per_message: per(total.A), b_us_per_message: per(total.B), b_vs_a: Math.round((per(total.B) / per(total.A)) * 1000) / 1000, calls: CALLS, batch: BATCH, new_senders: Math.round(NEW * 100) / 100 }));
} finally {
  await fresh.close();
  await owner.end();
  await t.close();
}
