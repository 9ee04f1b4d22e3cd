/**
 * `npm run bench:inbound` — inbound pipeline throughput and latency on this machine, in one run:
 *  1. pgbench baseline: the same raw inbox row inserted by pgbench (no HTTP, no routing, no HMAC);
 *  2. bare Fastify baseline: a route answering 200 to the same requests (HTTP cost alone);
 *  3. peak: signed Cloud API webhooks (unique message ids, many senders, 100 channels in 10 tenants)
 *     at fixed concurrency; persisted/s is counted in the database (inbox rows), not HTTP answers;
 *  4. half of peak, open loop: acknowledge latency p50/p99 and the lag from acknowledge to the
 *     conversation being visible through GET /v1/contacts (sampled), and the backlog at the end.
 * Ends with one JSON line holding every figure. Options: BENCH_DATABASE_URL, BENCH_SECONDS,
 * BENCH_CONCURRENCY.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, appUrlFrom } from '../src/db/migrate.js';
import { silentLogger } from '../src/core/runtime.js';
import { Vault } from '../src/crypto/vault.js';
import { newId } from '../src/core/ids.js';
import { generateApiKey } from '../src/identity/api-keys.js';

const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROLE = 'sb_bench_app';
const TENANTS = 10;
const CHANNELS = 100;
const APP_SECRET = 'bench-app-secret-0123';
const log = (...a: unknown[]) => console.error('[bench]', ...a);

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
function post(port: number, path: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}
function getJson(port: number, path: string, key: string): Promise<{ status: number; json: { data?: unknown[] } }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${key}` } }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(b || '{}') }));
    }).on('error', reject);
  });
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};

let senderSeq = 0;
function webhook(phoneNumberId: string): { body: string; from: string } {
  const from = `1555${String(1_000_000 + (senderSeq++ % 9_000_000))}${Math.floor(Math.random() * 10)}`;
  const ts = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: 'WABA', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550000000', phone_number_id: phoneNumberId },
      contacts: [{ wa_id: from, profile: { name: `Bench ${from}` } }],
      messages: [{ from, id: `wamid.${randomBytes(16).toString('hex')}`, timestamp: String(ts), type: 'text', text: { body: `bench message from ${from}` } }],
    } }] }],
  });
  return { body, from };
}
const sign = (body: string) => `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`;

async function startServer(args: Record<string, unknown>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/inbound-server.ts', JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { child, port };
}
const stopServer = (c: ChildProcess) => new Promise<void>((r) => { c.once('exit', () => r()); c.kill('SIGTERM'); });

/** Closed loop at `concurrency` for `seconds`: returns answers/s and latencies. */
async function closedLoop(port: number, lines: string[], concurrency: number, seconds: number) {
  const end = Date.now() + seconds * 1000;
  const lat: number[] = [];
  let ok = 0;
  let bad = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) {
      const { body } = webhook(lines[Math.floor(Math.random() * lines.length)]!);
      const t0 = performance.now();
      const s = await post(port, '/webhooks/cloud-api', body, { 'x-hub-signature-256': sign(body) });
      lat.push(performance.now() - t0);
      if (s === 200) ok++; else bad++;
    }
  }));
  return { rps: ok / seconds, bad, lat };
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
  const children: ChildProcess[] = [];
  try {
    await migrate(ownerUrl, { appRole: ROLE, logger: silentLogger });
    await owner.connect();
    const masterKey = randomBytes(32).toString('base64');
    const vault = new Vault(Buffer.from(masterKey, 'base64'), []);
    const lines: string[] = [];
    const keys: { tenantId: string; key: string }[] = [];
    const lineTenant = new Map<string, { tenantId: string; channelId: string; key: string }>();
    for (let t = 0; t < TENANTS; t++) {
      const tenantId = newId('ten');
      await owner.query(`insert into tenants (id, slug, name, plan_id) values ($1, $2, $2, 'unlimited')`, [tenantId, `bench-${t}`]);
      const k = generateApiKey('live');
      await owner.query(`insert into api_keys (tenant_id, id, name, hint, key_hash, scopes, mode) values ($1, $2, 'bench', $3, $4, '{*}', 'live')`, [tenantId, newId('key'), k.hint, k.hash]);
      keys.push({ tenantId, key: k.key });
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
    const rawRow = webhook(lines[0]!).body;

    // 1. pgbench: the same raw row into a same-shaped table (no FK/RLS: the storage cost alone).
    await owner.query(`create table pgbench_inbox (like inbox including defaults)`);
    await owner.query(`alter table pgbench_inbox add primary key (tenant_id, id)`);
    const dir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
    const script = join(dir, 'insert.sql');
    writeFileSync(script, `insert into pgbench_inbox (tenant_id, id, channel_id, provider, body, headers) values ('${keys[0]!.tenantId}', md5(random()::text || clock_timestamp()::text), 'chn', 'cloud-api', convert_to('${rawRow.replace(/'/g, "''")}', 'UTF8'), '{"content-type":"application/json"}');\n`);
    const pgbenchOut = execFileSync('pgbench', ['-n', '-c', String(Math.min(CONCURRENCY, 16)), '-j', '2', '-T', String(Math.max(5, Math.round(SECONDS / 2))), '-f', script, ownerUrl], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const pgbenchTps = Number(/tps = ([\d.]+)/.exec(pgbenchOut)?.[1] ?? 0);
    log(`pgbench: ${pgbenchTps.toFixed(0)} tps`);

    // 2. bare Fastify.
    const bare = await startServer({ mode: 'bare' });
    children.push(bare.child);
    const bareRun = await closedLoop(bare.port, lines, CONCURRENCY, Math.max(3, Math.round(SECONDS / 2)));
    await stopServer(bare.child);
    log(`bare fastify: ${bareRun.rps.toFixed(0)} rps`);

    // 3. peak through Switchboard.
    const sb = await startServer({ mode: 'switchboard', appUrl, masterKey, poolSize: 20, role: ROLE });
    children.push(sb.child);
    await closedLoop(sb.port, lines, 4, 1); // warm-up: route cache, JIT
    const count = async () => Number((await owner.query('select count(*)::int as n from inbox')).rows[0].n);
    const before = await count();
    const peak = await closedLoop(sb.port, lines, CONCURRENCY, SECONDS);
    const persistedPerS = ((await count()) - before) / SECONDS;
    log(`peak: ${persistedPerS.toFixed(0)} persisted/s (HTTP ${peak.rps.toFixed(0)}/s, ${peak.bad} non-200), ack p99 ${pct(peak.lat, 99)} ms`);
    // Let the backlog of the peak phase drain before measuring at half load; its drain rate is the
    // normaliser's capacity with no ingress competing.
    const pendingNow = async () => Number((await owner.query(`select count(*)::int as n from inbox where status = 'pending'`)).rows[0].n);
    const drainStart = Date.now();
    const backlogAfterPeak = await pendingNow();
    for (let i = 0; i < 240; i++) {
      if ((await pendingNow()) === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const drainSeconds = (Date.now() - drainStart) / 1000;
    const normalisePerS = backlogAfterPeak > 0 ? backlogAfterPeak / drainSeconds : 0;
    log(`normaliser: ${backlogAfterPeak} pending after peak drained in ${drainSeconds.toFixed(1)} s`);

    // 4. half of peak, open loop (arrivals do not wait for answers).
    const rate = Math.max(1, persistedPerS / 2);
    const ack: number[] = [];
    const lag: number[] = [];
    const pendings: Promise<void>[] = [];
    const start = Date.now();
    let sent = 0;
    while (Date.now() - start < SECONDS * 1000) {
      const due = Math.floor(((Date.now() - start) / 1000) * rate);
      for (; sent < due; sent++) {
        const line = lines[sent % lines.length]!;
        const { body, from } = webhook(line);
        // Sampled (1 in 50, polled every 50 ms): polling every message would itself be the load.
        const sample = sent % 50 === 0;
        pendings.push((async () => {
          const t0 = performance.now();
          const s = await post(sb.port, '/webhooks/cloud-api', body, { 'x-hub-signature-256': sign(body) });
          const tAck = performance.now();
          ack.push(tAck - t0);
          if (!sample || s !== 200) return;
          const who = lineTenant.get(line)!;
          for (;;) {
            const r = await getJson(sb.port, `/v1/contacts?q=${from}&channel_id=${who.channelId}`, who.key);
            if (r.status === 200 && (r.json.data?.length ?? 0) > 0) break;
            if (performance.now() - tAck > 30_000) break;
            await new Promise((res) => setTimeout(res, 50));
          }
          lag.push(performance.now() - tAck);
        })());
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    // Backlog when arrivals stop: a pipeline keeping up has only the last moment's rows pending.
    const backlog = Number((await owner.query(`select count(*)::int as n from inbox where status = 'pending'`)).rows[0].n);
    await Promise.all(pendings);
    await stopServer(sb.child);

    const result = {
      persisted_per_s: Math.round(persistedPerS),
      ack_p50_ms: pct(ack, 50),
      ack_p99_ms: pct(ack, 99),
      visible_lag_p50_ms: pct(lag, 50),
      visible_lag_p99_ms: pct(lag, 99),
      half_load_rate_per_s: Math.round(rate),
      backlog_after_half_load: backlog,
      backlog_after_peak: backlogAfterPeak,
      normalise_drain_per_s: Math.round(normalisePerS),
      peak_ack_p99_ms: pct(peak.lat, 99),
      peak_non_200: peak.bad,
      pgbench_tps: Math.round(pgbenchTps),
      fastify_rps: Math.round(bareRun.rps),
      persisted_vs_pgbench: Math.round((persistedPerS / Math.max(1, pgbenchTps)) * 100) / 100,
      concurrency: CONCURRENCY,
      seconds: SECONDS,
      channels: CHANNELS,
    };
    console.log(JSON.stringify(result));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await owner.end().catch(() => undefined);
    const d = new pg.Client({ connectionString: ADMIN });
    await d.connect();
    await d.query(`drop database if exists ${name} with (force)`);
    await d.end();
    agent.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
