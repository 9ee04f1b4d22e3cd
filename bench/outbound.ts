/**
 * `npm run bench:outbound`: accept and delivery throughput against the machine's PostgreSQL and the
 * Cloud API simulator, with two baselines on the same machine — pgbench running the same two-row
 * insert transaction, and a bare Fastify route — then one JSON line with every figure.
 *
 * Processes, as in a deployment: Switchboard `serve` (HTTP) in one child, the simulator in another,
 * BENCH_WORKERS scheduler processes for the delivery phase, and this process as the load generator
 * (raw keep-alive sockets, bench/loadgen.ts).
 * Env: BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_SECONDS (5),
 * BENCH_CONCURRENCY (32), BENCH_CHANNELS (100), BENCH_DELIVER (20000 messages to deliver),
 * BENCH_WORKERS (2 scheduler processes).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { silentLogger } from '../src/core/runtime.js';
import { appUrlFrom, migrate } from '../src/db/migrate.js';
import { generateApiKey } from '../src/identity/api-keys.js';
import { newId } from '../src/core/ids.js';
import { closedLoop, ConnPool, percentile, round, type Req } from './loadgen.js';
import { startProc, type Proc } from './procs.js';

const env = process.env;
const ADMIN = env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(env.BENCH_SECONDS ?? 5);
const CONC = Number(env.BENCH_CONCURRENCY ?? 32);
const CHANNELS = Number(env.BENCH_CHANNELS ?? 100);
const DELIVER = Number(env.BENCH_DELIVER ?? 20_000);
const WORKERS = Number(env.BENCH_WORKERS ?? 2);
const RATE = 80;
const ROLE = 'sb_bench_app';
const say = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const dbName = `sb_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const u = new URL(ADMIN);
  u.pathname = `/${dbName}`;
  const ownerUrl = u.toString();
  const owner = new pg.Client({ connectionString: ownerUrl });
  const procs: Proc[] = [];
  try {
    await migrate(ownerUrl, { appRole: ROLE, logger: silentLogger });
    await owner.connect();
    const sim = await startProc('bench/cloud-api-sim.ts', { phones: CHANNELS, firstId: 400_000_000_000_000, rate: RATE }, { ipc: true });
    procs.push(sim);
    const masterKey = randomBytes(32).toString('base64');
    const serverArgs = { mode: 'switchboard', appUrl: appUrlFrom(ownerUrl, ROLE, undefined), ownerUrl, masterKey, role: ROLE, poolSize: 20 };
    const server = await startProc('bench/server.ts', { ...serverArgs, http: true });
    procs.push(server);

    // A tenant on the unlimited plan with one API key, and CHANNELS Cloud API lines created through
    // the API (each one's credentials are checked live against the simulator).
    const tenantId = newId('ten');
    await owner.query(`insert into tenants (id, slug, name, plan_id) values ($1, 'bench', 'bench', 'unlimited')`, [tenantId]);
    const k = generateApiKey('live');
    await owner.query(`insert into api_keys (tenant_id, id, name, hint, key_hash, scopes, mode) values ($1, $2, 'bench', $3, $4, '{*}', 'live')`, [tenantId, newId('key'), k.hint, k.hash]);
    const auth = { authorization: `Bearer ${k.key}`, 'content-type': 'application/json' };
    const api = new ConnPool(server.port);
    const call = async (path: string, body: unknown) => {
      const a = await api.send({ method: 'POST', path, headers: auth, body: JSON.stringify(body) });
      if (a.status >= 300) throw new Error(`POST ${path}: ${a.status} ${a.body.toString()}`);
      return JSON.parse(a.body.toString()) as Record<string, unknown>;
    };
    const { credentials } = await sim.ask<{ credentials: unknown[] }>({ cmd: 'credentials' });
    const channels: string[] = [];
    for (let i = 0; i < CHANNELS; i++) channels.push(String((await call('/v1/channels', { name: `l${i}`, provider: 'cloud-api', credentials: credentials[i], rate_per_second: RATE, burst: RATE })).id));
    say(`setup: database ${dbName}, ${CHANNELS} Cloud API channels on the simulator at ${RATE} msg/s each, ${cpus().length} cores`);

    let n = 0;
    const msg = () => ({ channel_id: channels[n % CHANNELS], to: `+1650${String(5_000_000 + (n++ % 50_000)).padStart(7, '0')}`, content: { type: 'text', text: 'bench' } });
    const single = (): Req => ({ method: 'POST', path: '/v1/messages', headers: auth, body: JSON.stringify(msg()) });
    await closedLoop(server.port, single, 4, 1000, 202); // warm-up: JIT, pool, caches
    const one = await closedLoop(server.port, single, CONC, SECONDS * 1000, 202);
    const acceptedPerS = one.ok / one.seconds;
    say(`POST /v1/messages: ${round(acceptedPerS)} accepted/s, p50 ${round(percentile(one.latenciesMs, 50), 2)} ms, p99 ${round(percentile(one.latenciesMs, 99), 2)} ms (${one.requests - one.ok} not 202: ${JSON.stringify(one.statuses)})`);
    const batch = await closedLoop(server.port, () => ({ method: 'POST', path: '/v1/messages/batch', headers: auth, body: JSON.stringify({ messages: Array.from({ length: 1000 }, msg) }) }), 2, SECONDS * 1000, 202);
    const batchPerS = (batch.ok * 1000) / batch.seconds;
    say(`POST /v1/messages/batch (1,000 each): ${round(batchPerS)} accepted/s, p50 ${round(percentile(batch.latenciesMs, 50))} ms per batch`);

    // Delivery: top the backlog up to DELIVER messages spread over every channel, then drain it with
    // WORKERS scheduler processes; throughput and per-channel rates are measured at the simulator.
    const backlog = one.ok + batch.ok * 1000;
    for (let have = backlog; have < DELIVER; have += 1000) await call('/v1/messages/batch', { messages: Array.from({ length: 1000 }, msg) });
    api.close();
    await server.stop();
    procs.splice(procs.indexOf(server), 1);
    const total = Number((await owner.query('select count(*) from delivery_jobs')).rows[0].count);
    const sent0 = (await sim.ask<{ sent: number }>({ cmd: 'sent' })).sent;
    const workers = await Promise.all(Array.from({ length: WORKERS }, () => startProc('bench/server.ts', { ...serverArgs, scheduler: { concurrency: 128, leaseMs: 15_000 } })));
    procs.push(...workers);
    const t0 = Date.now();
    const window = Math.max(SECONDS * 3, 15) * 1000;
    let sent = 0;
    while (Date.now() - t0 < window && sent < total) {
      await sleep(100);
      sent = (await sim.ask<{ sent: number }>({ cmd: 'sent' })).sent - sent0;
    }
    const deliverSeconds = (Date.now() - t0) / 1000;
    const deliveredPerS = sent / deliverSeconds;
    await Promise.all(workers.map((w) => w.stop()));
    const stats = await sim.ask<{ maxRatio: number; throttled: number }>({ cmd: 'stats', rate: RATE });
    say(`delivery (${WORKERS} scheduler processes): ${round(deliveredPerS)} msg/s across ${CHANNELS} channels (${sent} of ${total} in ${round(deliverSeconds)} s), busiest channel at ${round(stats.maxRatio * 100)} % of its limit in its busiest second, ${stats.throttled} throttled`);

    // Baseline 1: pgbench running the accept path's two-row insert transaction.
    await owner.query(`create table bench_msg (tenant_id text, id text, body jsonb, created_at timestamptz default now(), primary key (tenant_id, id));
      create table bench_job (tenant_id text, message_id text, run_at timestamptz default now(), primary key (tenant_id, message_id))`);
    const script = join(tmpdir(), `sb-bench-${process.pid}.sql`);
    writeFileSync(script, `\\set r random(1, 1000000000)\nbegin;\ninsert into bench_msg (tenant_id, id, body) values ('t', :client_id || '-' || :r || '-' || random(), '{"type":"text","text":"bench"}') on conflict do nothing;\ninsert into bench_job (tenant_id, message_id) values ('t', :client_id || '-' || :r || '-' || random()) on conflict do nothing;\ncommit;\n`);
    const out = execFileSync('pgbench', ['-n', '-c', String(CONC), '-j', '2', '-T', String(SECONDS), '-f', script, ownerUrl], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    rmSync(script, { force: true });
    const pgbenchTps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? 0);
    say(`pgbench (same two-row insert transaction, ${CONC} clients): ${round(pgbenchTps)} tps`);

    // Baseline 2: a bare Fastify route in its own process, same load generator.
    const bare = await startProc('bench/server.ts', { mode: 'bare' });
    procs.push(bare);
    const f = await closedLoop(bare.port, single, CONC, SECONDS * 1000, 202);
    const fastifyRps = f.ok / f.seconds;
    say(`bare Fastify route: ${round(fastifyRps)} req/s`);

    say(JSON.stringify({
      accepted_per_s: round(acceptedPerS), batch_accepted_per_s: round(batchPerS), delivered_per_s: round(deliveredPerS),
      accept_p50_ms: round(percentile(one.latenciesMs, 50), 2), accept_p99_ms: round(percentile(one.latenciesMs, 99), 2),
      pgbench_tps: round(pgbenchTps), fastify_rps: round(fastifyRps),
      accepted_vs_pgbench: round(acceptedPerS / pgbenchTps, 3), accepted_vs_fastify: round(acceptedPerS / fastifyRps, 3),
      max_channel_rate_ratio: round(stats.maxRatio, 3), channels: CHANNELS, workers: WORKERS, cores: cpus().length,
    }));
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await owner.end().catch(() => undefined);
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
