/**
 * `npm run bench:inbound` — inbound pipeline throughput and latency on this machine, in one run:
 *  1. pgbench baseline: the same raw inbox row inserted by pgbench (no HTTP, no routing, no HMAC),
 *     at 16, 32 and 64 clients (up to BENCH_CONCURRENCY); the best of them is the baseline;
 *  2. bare Fastify baseline: a route answering 200 to the same requests (HTTP cost alone);
 *  3. peak: signed Cloud API webhooks (unique message ids, many senders, 100 channels in 10
 *     tenants) at fixed concurrency, closed loop, after a warm-up at the same concurrency whose
 *     backlog is drained first, with processing running beside ingress under its
 *     overload policy (decisions 028, 030, 031: the processing thread finds by probing that it
 *     holds ingress back, and yields); persisted/s is counted in the database (inbox rows plus the
 *     messages processed rows became), not HTTP answers; the backlog left and the rate processing
 *     kept up with during the peak are reported with it;
 *  4. drain: the backlog the peak left, processed with no ingress (the normaliser's rate, and the CPU
 *     per message by thread when the backlog was over 1,000 rows);
 *  5. half of peak, open loop: acknowledge latency p50/p99 and the lag from acknowledge to the
 *     new contact being visible through GET /v1/contacts (sampled), and the backlog at the end.
 * Processes, as in a deployment: BENCH_SERVERS Switchboard HTTP processes (default 1, each also
 * running the inbound worker like `switchboard start`), this process as the load generator (raw
 * keep-alive sockets, bench/loadgen.ts). Ends with one JSON line holding every figure.
 * Senders: each line has BENCH_SENDERS_PER_LINE regular senders (default 1,000: 100,000 conversations
 * over the 100 lines, most created during the run); 0 makes every message come from a new sender.
 * Options: BENCH_DATABASE_URL, BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_CONCURRENCY (64), BENCH_SERVERS (1),
 * BENCH_SENDERS_PER_LINE (1000), BENCH_PREGENERATE_PER_S (15000), BENCH_HALF_RATE (phase 5's rate;
 * default half the peak), BENCH_WAL_INSPECT (log phase 5's WAL by relation).
 * The peak and half load also report the WAL they wrote per webhook, its full-page images, and the
 * checkpoints that began during them (a checkpoint's start makes each page's next change log the
 * whole page: acknowledge tails were longer in the seconds after one, docs/performance.md).
 * `memory_read_ns_before` / `_after`: bench/memory-probe.ts before the first phase and after the
 * last, which says whether the VM was in its slow state (docs/performance.md, 2026-12-01).
 */
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, appUrlFrom } from '../src/db/migrate.js';
import { silentLogger } from '../src/core/runtime.js';
import { cpuSecondsOf } from '../src/core/proc-stat.js';
import { Vault } from '../src/crypto/vault.js';
import { newId } from '../src/core/ids.js';
import { generateApiKey } from '../src/identity/api-keys.js';
import { closedLoop, ConnPool, encode, percentile, pregenerated, round, type Req } from './loadgen.js';
import { startProc, type Proc } from './procs.js';
import { memoryReadNs } from './memory-probe.js';

const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const SERVERS = Number(process.env.BENCH_SERVERS ?? 1);
const SENDERS = Number(process.env.BENCH_SENDERS_PER_LINE ?? 1000);
/** Requests signed ahead of each closed-loop phase (more are made on the fly if the rate exceeds it). */
const PREGENERATE = Number(process.env.BENCH_PREGENERATE_PER_S ?? 15_000);
const DEBUG = Boolean(process.env.BENCH_DEBUG);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const ROLE = 'sb_bench_app';
const TENANTS = 10;
const CHANNELS = 100;
const APP_SECRET = 'bench-app-secret-0123';
const log = (...a: unknown[]) => console.error('[bench]', ...a);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => round(percentile(xs, p));

let senderSeq = 0;
/**
 * A sender never seen before (its first message creates a contact and a conversation): a valid
 * North American number (+1 555 and 7 digits; 9 million of them), as real senders' wa_ids are.
 */
const newSender = () => `1555${String(1_000_000 + (senderSeq++ % 9_000_000))}`;
/**
 * The sender of the next message to a line: one of the line's SENDERS regulars (each one's first
 * message creates its contact and conversation, later ones find them), or a new sender every time
 * when SENDERS is 0.
 */
const regulars = new Map<string, string[]>();
function senderFor(line: string): string {
  if (SENDERS === 0) return newSender();
  let pool = regulars.get(line);
  if (!pool) regulars.set(line, (pool = Array.from({ length: SENDERS }, newSender)));
  return pool[Math.floor(Math.random() * pool.length)]!;
}
/** A signed Cloud API webhook: one new message (a unique wamid) from `from` to line `phoneNumberId`. */
function webhook(phoneNumberId: string, from = senderFor(phoneNumberId)): { req: Req; from: string } {
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: 'WABA', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550000000', phone_number_id: phoneNumberId },
      contacts: [{ wa_id: from, profile: { name: `Bench ${from}` } }],
      messages: [{ from, id: `wamid.${randomBytes(16).toString('hex')}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `bench message from ${from}` } }],
    } }] }],
  });
  const signature = `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`;
  return { req: { method: 'POST', path: '/webhooks/cloud-api', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body }, from };
}

/** Busy CPU time of the whole machine so far, in core-seconds (Linux /proc/stat; null elsewhere). */
function busyCoreSeconds(): number | null {
  try {
    const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number) as number[];
    return (user! + nice! + system! + irq! + softirq!) / 100;
  } catch {
    return null;
  }
}

/**
 * Core-seconds used so far, split by who used them (Linux /proc; null elsewhere): the Switchboard
 * processes' main threads (which answer webhooks), their other threads (the processing thread, GC
 * and compiler helpers, libuv's pool), PostgreSQL's processes, and this process (the generator).
 */
type CpuSplit = Record<'acknowledging' | 'sb_other_threads' | 'postgres' | 'generator', number>;
function cpuSplit(serverPids: number[]): CpuSplit | null {
  try {
    const out: CpuSplit = { acknowledging: 0, sb_other_threads: 0, postgres: 0, generator: cpuSecondsOf(readFileSync('/proc/self/stat', 'utf8')) };
    for (const pid of serverPids) {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const t = cpuSecondsOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
        if (Number(tid) === pid) out.acknowledging += t;
        else out.sb_other_threads += t;
      }
    }
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) out.postgres += cpuSecondsOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        // the process ended meanwhile
      }
    }
    return out;
  } catch {
    return null;
  }
}

/** Microseconds per webhook from two cpuSplit snapshots. */
function splitPer(before: CpuSplit | null, after: CpuSplit | null, webhooks: number): Record<string, number> | null {
  if (!before || !after) return null;
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, Math.round(((v - before[k as keyof CpuSplit]) * 1e6) / Math.max(1, webhooks))]));
}

/**
 * WAL written so far (bytes) and checkpoints begun: a checkpoint makes the next change to each page
 * log the whole page, so a phase a checkpoint falls in writes more WAL and commits slower.
 */
type WalMark = { bytes: number; fpi: number; checkpoints: number; lsn: string };
async function walMark(db: pg.Client): Promise<WalMark> {
  const r = (await db.query(`select pg_current_wal_lsn()::text as lsn, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 as bytes,
    (select wal_fpi from pg_stat_wal)::float8 as fpi,
    (select checkpoints_timed + checkpoints_req from pg_stat_bgwriter)::int as checkpoints`)).rows[0];
  return { lsn: r.lsn, bytes: Number(r.bytes), fpi: Number(r.fpi), checkpoints: Number(r.checkpoints) };
}
/** WAL bytes per webhook and checkpoints begun between two marks. */
const walPer = (a: WalMark, b: WalMark, webhooks: number) => ({
  bytes: Math.round((b.bytes - a.bytes) / Math.max(1, webhooks)),
  fullPages: round((b.fpi - a.fpi) / Math.max(1, webhooks), 2),
  checkpoints: b.checkpoints - a.checkpoints,
});

/**
 * BENCH_WAL_INSPECT=1: the WAL between two marks by relation (pg_walinspect, PostgreSQL 15+):
 * block references, full-page images among them, and their records' megabytes (a record touching n
 * blocks counts in each of their relations).
 */
async function walByRelation(db: pg.Client, a: WalMark, b: WalMark): Promise<Record<string, unknown>[]> {
  await db.query('create extension if not exists pg_walinspect');
  const r = await db.query(`with refs as (
      select w.record_length, w.fpi_length, m[1]::oid as filenode, (m[2] is not null) as fpw
      from pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn) w
      left join lateral regexp_matches(w.block_ref, 'rel \\d+/\\d+/(\\d+) fork main blk \\d+( [(]FPW)?', 'g') m on true)
    select coalesce(c.relname, filenode::text, '(no block)') as rel, count(*)::int as refs, sum(fpw::int)::int as full_pages,
      (sum(record_length) / 1e6)::numeric(10, 1) as record_mb, (sum(fpi_length) / 1e6)::numeric(10, 1) as full_page_mb
    from refs left join pg_class c on c.relfilenode = refs.filenode
    group by 1 order by sum(record_length) desc limit 25`, [a.lsn, b.lsn]);
  return r.rows;
}

async function main() {
  const name = `sb_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(ADMIN);
  u.pathname = `/${name}`;
  const ownerUrl = u.toString();
  const appUrl = appUrlFrom(ownerUrl, ROLE, undefined);
  const owner = new pg.Client({ connectionString: ownerUrl });
  const procs: Proc[] = [];
  try {
    await migrate(ownerUrl, { appRole: ROLE, logger: silentLogger });
    await owner.connect();
    const masterKey = randomBytes(32).toString('base64');
    const vault = new Vault(Buffer.from(masterKey, 'base64'), []);
    const lines: string[] = [];
    const lineTenant = new Map<string, { tenantId: string; channelId: string; key: string }>();
    for (let t = 0; t < TENANTS; t++) {
      const tenantId = newId('ten');
      await owner.query(`insert into tenants (id, slug, name, plan_id) values ($1, $2, $2, 'unlimited')`, [tenantId, `bench-${t}`]);
      const k = generateApiKey('live');
      await owner.query(`insert into api_keys (tenant_id, id, name, hint, key_hash, scopes, mode) values ($1, $2, 'bench', $3, $4, '{*}', 'live')`, [tenantId, newId('key'), k.hint, k.hash]);
      for (let c = 0; c < CHANNELS / TENANTS; c++) {
        const id = newId('chn');
        const pn = String(100_000_000 + t * 1000 + c);
        const secrets = vault.encrypt(JSON.stringify({ accessToken: 'EAAG-bench-token', appSecret: APP_SECRET, verifyToken: 'vt' }), { tenantId, recordId: id });
        await owner.query(`insert into channels (tenant_id, id, name, provider, external_id, secrets_enc, settings, webhook_token, rate_per_second, burst)
          values ($1, $2, 'bench', 'cloud-api', $3, $4, $5, $6, 80, 80)`, [tenantId, id, pn, secrets, JSON.stringify({ phoneNumberId: pn, wabaId: '100000001' }), randomBytes(16).toString('hex')]);
        lines.push(pn);
        lineTenant.set(pn, { tenantId, channelId: id, key: k.key });
      }
    }
    const rawRow = String(webhook(lines[0]!).req.body);
    const randomLine = () => lines[Math.floor(Math.random() * lines.length)]!;

    // Which state the VM is in (bench/memory-probe.ts): taken before the first phase and after the last.
    const memoryBefore = memoryReadNs();
    log(`memory: ${memoryBefore.kb256} / ${memoryBefore.mb4} / ${memoryBefore.mb64} ns a random read over 256 KB / 4 MB / 64 MB`);

    // 1. pgbench: the same raw row into a same-shaped table (no FK/RLS: the storage cost alone).
    await owner.query(`create table pgbench_inbox (like inbox including defaults)`);
    await owner.query(`alter table pgbench_inbox add primary key (tenant_id, id)`);
    const dir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
    const script = join(dir, 'insert.sql');
    writeFileSync(script, `insert into pgbench_inbox (tenant_id, id, channel_id, provider, body, headers) values ('${lineTenant.get(lines[0]!)!.tenantId}', md5(random()::text || clock_timestamp()::text), 'chn', 'cloud-api', convert_to('${rawRow.replace(/'/g, "''")}', 'UTF8'), '{"content-type":"application/json"}');\n`);
    // The best of several client counts: pgbench's best moves between 16, 32 and 64 clients from run
    // to run here; Switchboard needs 64 webhook senders to saturate (each waits for its group's commit).
    const pgbenchRuns = [16, 32, 64].filter((c) => c <= Math.max(16, CONCURRENCY)).map((clients) => {
      const out = execFileSync('pgbench', ['-n', '-c', String(clients), '-j', '2', '-T', String(Math.max(3, Math.round(SECONDS / 3))), '-f', script, ownerUrl], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return { clients, tps: Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? 0) };
    });
    rmSync(dir, { recursive: true, force: true });
    const best = pgbenchRuns.reduce((a, b) => (b.tps > a.tps ? b : a));
    const pgbenchTps = best.tps;
    log(`pgbench: ${pgbenchRuns.map((r) => `${r.tps.toFixed(0)} tps at ${r.clients} clients`).join(', ')}`);

    // 2. bare Fastify, same load generator.
    const bare = await startProc('bench/server.ts', { mode: 'bare' });
    procs.push(bare);
    const bareSeconds = Math.max(3, Math.round(SECONDS / 2));
    const bareRun = await closedLoop(bare.port, pregenerated(PREGENERATE * bareSeconds, () => webhook(randomLine()).req), CONCURRENCY, bareSeconds * 1000, 200);
    await bare.stop();
    const fastifyRps = bareRun.ok / bareRun.seconds;
    log(`bare fastify: ${fastifyRps.toFixed(0)} rps`);

    // 3. peak through Switchboard.
    const servers = await Promise.all(Array.from({ length: SERVERS }, () => startProc('bench/server.ts', { mode: 'switchboard', appUrl, ownerUrl, masterKey, poolSize: 20, role: ROLE, http: true, inbound: true })));
    const serverPids = servers.map((s) => s.child.pid).filter((p) => p !== undefined);
    procs.push(...servers);
    let rr = 0;
    const port = () => servers[rr++ % servers.length]!.port;
    // Warm-up at the peak's own concurrency (route cache, JIT of the ingress and processing paths,
    // the database connections' caches), then its backlog drained: the peak measures a running
    // process, not its first seconds (BENCH_WARMUP_SECONDS; 0 measures from cold).
    if (WARMUP_SECONDS > 0) {
      log(`warm-up: ${WARMUP_SECONDS} s closed loop at ${CONCURRENCY} connections, then its backlog drained…`);
      await Promise.all(servers.map((s) => closedLoop(s.port, () => webhook(randomLine()).req, Math.ceil(CONCURRENCY / SERVERS), WARMUP_SECONDS * 1000, 200)));
    }
    // Persisted = stored durably in either form: still in the inbox, or already turned into a message
    // (processing deletes the inbox row in the transaction that writes the message; one message
    // per webhook here).
    const counts = async () => {
      const r = (await owner.query(`select (select count(*) from inbox)::int as inbox, (select count(*) from messages where direction = 'in')::int as processed`)).rows[0];
      return { persisted: Number(r.inbox) + Number(r.processed), processed: Number(r.processed) };
    };
    const pendingNow = async () => Number((await owner.query(`select count(*)::int as n from inbox where status = 'pending'`)).rows[0].n);
    for (let i = 0; i < 120 && (await pendingNow()) > 0; i++) await sleep(250);
    const before = await counts();
    const peakLoad = servers.map(() => pregenerated(Math.ceil((PREGENERATE * SECONDS) / SERVERS), () => webhook(randomLine()).req));
    log(`peak: ${SECONDS} s closed loop at ${CONCURRENCY} connections…`);
    const peakWalBefore = await walMark(owner);
    const cpuBefore = busyCoreSeconds();
    const peakSplitBefore = cpuSplit(serverPids);
    const runs = await Promise.all(servers.map((s, i) => closedLoop(s.port, peakLoad[i]!, Math.ceil(CONCURRENCY / SERVERS), SECONDS * 1000, 200)));
    const after = await counts();
    const persisted = after.persisted - before.persisted;
    const peakWal = walPer(peakWalBefore, await walMark(owner), persisted);
    const persistedPerS = persisted / SECONDS;
    const peakCpuUs = cpuBefore === null ? null : ((busyCoreSeconds()! - cpuBefore) * 1e6) / Math.max(1, persisted);
    const peakSplit = splitPer(peakSplitBefore, cpuSplit(serverPids), persisted);
    const peakProcessedPerS = (after.processed - before.processed) / SECONDS;
    const peakLat = runs.flatMap((r) => r.latenciesMs);
    const peakBad = runs.reduce((a, r) => a + r.requests - r.ok, 0);

    // The backlog the peak left (processing yields while it holds ingress back, decisions 028/031);
    // its drain rate is the normaliser's capacity with no ingress competing.
    const drainStart = Date.now();
    const drainSplitBefore = cpuSplit(serverPids);
    const backlogAfterPeak = await pendingNow();
    log(`peak: ${persistedPerS.toFixed(0)} persisted/s (HTTP ${round(runs.reduce((a, r) => a + r.ok / r.seconds, 0))}/s, ${peakBad} non-200), ack p99 ${pct(peakLat, 99)} ms; processed ${round(peakProcessedPerS)}/s meanwhile, ${backlogAfterPeak} left pending`);
    for (let i = 0; i < 480 && (await pendingNow()) > 0; i++) await sleep(250);
    const drainSeconds = (Date.now() - drainStart) / 1000;
    const normalisePerS = backlogAfterPeak > 1000 ? backlogAfterPeak / drainSeconds : null;
    const drainSplit = backlogAfterPeak > 1000 ? splitPer(drainSplitBefore, cpuSplit(serverPids), backlogAfterPeak) : null;
    log(`normaliser: ${backlogAfterPeak} pending after the peak, drained in ${drainSeconds.toFixed(1)} s`);

    // 5. half of peak, open loop (arrivals do not wait for answers).
    const rate = Number(process.env.BENCH_HALF_RATE ?? 0) || Math.max(1, persistedPerS / 2);
    const pools = servers.map((s) => new ConnPool(s.port));
    const apiPool = new ConnPool(port());
    const ack: number[] = [];
    /** BENCH_DEBUG=1: acknowledge latencies by the second they were sent in, printed at the end. */
    const ackBySecond: number[][] = [];
    const lag: number[] = [];
    const pendings: Promise<void>[] = [];
    /** Polls until `from`'s contact is visible through the API; records the lag from `tAck`. */
    const probe = async (line: string, from: string, tAck: number): Promise<void> => {
      probes += 1;
      const who = lineTenant.get(line)!;
      for (;;) {
        // A poll that fails (its connection reset, the server gone after an error elsewhere) is
        // tried again like one that found nothing: never an unhandled rejection that would end the
        // bench before it drops its database.
        polls += 1;
        const r = await apiPool.send({ method: 'GET', path: `/v1/contacts?q=%2B${from}&channel_id=${who.channelId}`, headers: { authorization: `Bearer ${who.key}` } }).catch(() => null);
        if (r?.status === 200 && ((JSON.parse(r.body.toString()) as { data?: unknown[] }).data?.length ?? 0) > 0) break;
        if (performance.now() - tAck > 30_000) break;
        await sleep(50);
      }
      lag.push(performance.now() - tAck);
      probes -= 1;
    };
    let sent = 0;
    let bad = 0;
    // Signed ahead of time, like the peak's. Sampled messages come from a new sender, whose contact
    // appearing through the API is the visibility being measured: 1 in SAMPLE_EVERY, polled every
    // 50 ms, at most MAX_PROBES at once. The probes are API load the pipeline shares its CPU with:
    // at 1 in 100 and 50 at once, a pipeline a second behind served 1,000 polls a second, which put
    // it further behind.
    const SAMPLE_EVERY = 250;
    const MAX_PROBES = 20;
    let probes = 0;
    /** GET /v1/contacts requests the probes made (API load beside the webhooks). */
    let polls = 0;
    const planned = Array.from({ length: Math.ceil(rate * SECONDS) + 100 }, (_, i) => {
      const line = lines[i % lines.length]!;
      const { req, from } = i % SAMPLE_EVERY === 0 ? webhook(line, newSender()) : webhook(line);
      return { line, from, sample: i % SAMPLE_EVERY === 0, bytes: encode('127.0.0.1', req) };
    });
    // A short warm-up at 4 connections (the routing cache, which the drain's idle seconds let expire).
    for (const s of servers) await closedLoop(s.port, () => webhook(randomLine()).req, 4, 1000, 200);
    for (let i = 0; i < 40 && (await pendingNow()) > 0; i++) await sleep(100);
    // Every connection the generator may use opened ahead, as a provider's are kept alive, and last
    // (the server closes connections idle for 5 s). With only 64 warm, a moment of slower answers
    // made the generator open more while the server was busy: the first second's p99 was 0.1–1.2 s
    // in 10 runs of 10, while the server's own request time stayed ≤ 75 ms.
    await Promise.all([...pools.map((p) => p.warm(p.max)), apiPool.warm(MAX_PROBES)]);
    // The phase's starting readings are taken before its clock starts: the open loop sends what is
    // due since `start`, so time spent reading here would go out as one bunch of requests.
    // BENCH_WAL_INSPECT: a temporary replication slot keeps the phase's WAL from being recycled by a
    // checkpoint before it is read (without it, a phase a checkpoint began in could not be inspected).
    const WAL_INSPECT = Boolean(process.env.BENCH_WAL_INSPECT);
    if (WAL_INSPECT) await owner.query('select pg_create_physical_replication_slot($1, true, true)', [name]);
    const halfWalBefore = await walMark(owner);
    const halfCpuBefore = busyCoreSeconds();
    const halfSplitBefore = cpuSplit(serverPids);
    // The generator's own delays count in every latency it measures: its event loop's delay is
    // reported beside them (at nice -10 instead of 0 it was hardly shorter and the acknowledge tails
    // longer: docs/performance.md).
    const genDelay = monitorEventLoopDelay({ resolution: 5 });
    genDelay.enable();
    const start = Date.now();
    const tStart = performance.now();
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    const loopBySecond: number[] = [];
    let loopTimer: NodeJS.Timeout | undefined;
    if (DEBUG) {
      log(`half load: ${Math.round(rate)}/s from ${start} (ms since the epoch, to match the servers' log times)`);
      loopDelay.enable();
      loopTimer = setInterval(() => {
        loopBySecond.push(round(loopDelay.max / 1e6));
        loopDelay.reset();
      }, 1000);
    }
    while (Date.now() - start < SECONDS * 1000) {
      const due = Math.min(planned.length, Math.floor(((Date.now() - start) / 1000) * rate));
      for (; sent < due; sent++) {
        const { line, from, sample, bytes: req } = planned[sent]!;
        const pool = pools[sent % pools.length]!;
        const t0 = performance.now();
        // Plain promise callbacks, not an async closure per request: at 6,000 requests a second the
        // generator's own overhead is CPU the server does not get.
        pendings.push(pool.send(req).then((a) => {
          const tAck = performance.now();
          ack.push(tAck - t0);
          if (DEBUG) (ackBySecond[Math.floor((t0 - tStart) / 1000)] ??= []).push(tAck - t0);
          if (a.status !== 200) bad++;
          if (sample && a.status === 200 && probes < MAX_PROBES) return probe(line, from, tAck);
        }, () => {
          bad++;
        }));
      }
      await sleep(2);
    }
    // Machine CPU per webhook while the load lasted (acknowledging, processing, the generator, the
    // visibility polls): what decides whether this rate is sustainable with short tails.
    const halfCpuUs = halfCpuBefore === null ? null : ((busyCoreSeconds()! - halfCpuBefore) * 1e6) / Math.max(1, sent);
    const halfSplit = splitPer(halfSplitBefore, cpuSplit(serverPids), sent);
    const halfWalAfter = await walMark(owner);
    const halfWal = walPer(halfWalBefore, halfWalAfter, sent);
    if (WAL_INSPECT) {
      for (const row of await walByRelation(owner, halfWalBefore, halfWalAfter)) log('wal', JSON.stringify(row));
      await owner.query('select pg_drop_replication_slot($1)', [name]);
    }
    // Backlog when arrivals stop: a pipeline keeping up has only the last moment's rows pending.
    const backlog = await pendingNow();
    await Promise.all(pendings);
    genDelay.disable();
    clearInterval(loopTimer);
    if (DEBUG) ackBySecond.forEach((xs, s) => log(`half load second ${s}: ${xs.length} sent, ack p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms, max ${round(Math.max(...xs))} ms; generator's event-loop delay max ${loopBySecond[s] ?? '?'} ms`));
    for (const p of [...pools, apiPool]) p.close();

    // Issue 5's targets for this run, at a glance (the JSON line below has every figure), judged on
    // the unrounded figures: 0.5953 of pgbench is not "≥ 0.6", though it prints as 0.6 at two places.
    const exactRatio = persistedPerS / Math.max(1, pgbenchTps);
    const ratio = round(exactRatio, 2);
    const exactAckP99 = percentile(ack, 99);
    const exactLagP99 = percentile(lag, 99);
    const ackP99 = round(exactAckP99);
    const lagP99 = round(exactLagP99);
    const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
    log(`targets: persisted/pgbench ${round(exactRatio, 3)} (≥ 0.6 ${mark(exactRatio >= 0.6)}), ack p99 at half load ${ackP99} ms (≤ 50 ${mark(exactAckP99 <= 50)}), ` +
      `visible lag p99 ${lagP99} ms (≤ 1,000 ${mark(exactLagP99 <= 1000)})`);
    console.log(JSON.stringify({
      persisted_per_s: Math.round(persistedPerS),
      ack_p50_ms: pct(ack, 50),
      ack_p99_ms: ackP99,
      visible_lag_p50_ms: pct(lag, 50),
      visible_lag_p99_ms: lagP99,
      half_load_rate_per_s: Math.round(rate),
      half_load_non_200: bad,
      half_load_visibility_polls: polls,
      half_load_generator_delay_p99_ms: round(genDelay.percentile(99) / 1e6),
      half_load_generator_delay_max_ms: round(genDelay.max / 1e6),
      backlog_after_half_load: backlog,
      half_load_cpu_us_per_webhook: halfCpuUs === null ? null : Math.round(halfCpuUs),
      half_load_cpu_split_us: halfSplit,
      half_load_wal_bytes_per_webhook: halfWal.bytes,
      half_load_wal_full_pages_per_webhook: halfWal.fullPages,
      half_load_checkpoints: halfWal.checkpoints,
      peak_processed_per_s: Math.round(peakProcessedPerS),
      backlog_after_peak: backlogAfterPeak,
      normalise_drain_per_s: normalisePerS === null ? null : Math.round(normalisePerS),
      drain_cpu_split_us: drainSplit,
      peak_cpu_us_per_webhook: peakCpuUs === null ? null : Math.round(peakCpuUs),
      peak_cpu_split_us: peakSplit,
      peak_wal_bytes_per_webhook: peakWal.bytes,
      peak_wal_full_pages_per_webhook: peakWal.fullPages,
      peak_checkpoints: peakWal.checkpoints,
      peak_ack_p99_ms: pct(peakLat, 99),
      peak_non_200: peakBad,
      pgbench_tps: Math.round(pgbenchTps),
      pgbench_clients: best.clients,
      fastify_rps: Math.round(fastifyRps),
      persisted_vs_pgbench: ratio,
      concurrency: CONCURRENCY,
      seconds: SECONDS,
      channels: CHANNELS,
      servers: SERVERS,
      senders_per_line: SENDERS,
      cores: cpus().length,
      memory_read_ns_before: memoryBefore,
      memory_read_ns_after: memoryReadNs(),
    }));
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await owner.end().catch(() => undefined);
    const d = new pg.Client({ connectionString: ADMIN });
    await d.connect();
    await d.query(`drop database if exists ${name} with (force)`);
    await d.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
