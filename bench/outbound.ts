/**
 * `npm run bench:outbound`: accept and delivery throughput against the machine's PostgreSQL and the
 * Cloud API simulator, with two baselines on the same machine — pgbench running the same two-row
 * insert transaction, and a bare Fastify route — then one JSON line with every figure.
 * Env: BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_SECONDS (5),
 * BENCH_CONCURRENCY (32), BENCH_CHANNELS (100), BENCH_DELIVER (20000 messages to deliver).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import pg from 'pg';
import pino from 'pino';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../src/core/config.js';
import { appUrlFrom, migrate } from '../src/db/migrate.js';
import { buildApp } from '../src/http/app.js';
import { createCloudApiSimulator } from '../src/providers/cloud-api/index.js';
import { generateApiKey } from '../src/identity/api-keys.js';
import { newId } from '../src/core/ids.js';
import { startScheduler } from '../src/delivery/scheduler.js';
import { hammer, percentile, round } from './outbound-support.js';
import { createAppContext } from '../src/app/root.js';

const env = process.env;
const ADMIN = env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(env.BENCH_SECONDS ?? 5);
const CONC = Number(env.BENCH_CONCURRENCY ?? 32);
const CHANNELS = Number(env.BENCH_CHANNELS ?? 100);
const DELIVER = Number(env.BENCH_DELIVER ?? 20_000);
const RATE = 80;
const say = (s: string) => process.stdout.write(`${s}\n`);

async function main() {
  const dbName = `sb_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const u = new URL(ADMIN);
  u.pathname = `/${dbName}`;
  const ownerUrl = u.toString();
  const silent = pino({ level: 'silent' });
  await migrate(ownerUrl, { appRole: 'sb_bench_app', logger: silent });
  const sim = createCloudApiSimulator({ phones: Array.from({ length: CHANNELS }, (_, i) => ({ phoneNumberId: String(400_000_000_000_000 + i) })) });
  await sim.listen();
  const config = parseConfig({ MASTER_KEY: randomBytes(32).toString('base64'), EGRESS_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'silent', DB_POOL_SIZE: '20', BODY_LIMIT_BYTES: String(8 * 1024 * 1024) });
  const { ctx, database } = createAppContext({ config, appUrl: appUrlFrom(ownerUrl, 'sb_bench_app', undefined), logger: silent, providerTimeoutMs: 5000 });
  const app = await buildApp(ctx);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const { key: adminKey, hash, hint } = generateApiKey('admin');
  await database.db.insertInto('admin_keys').values({ id: newId('key'), name: 'bench', hint, key_hash: hash }).execute();
  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json() as Promise<Record<string, unknown>>;
  };
  const tenant = await call('POST', '/admin/tenants', adminKey, { slug: 'bench', name: 'bench', plan: 'unlimited' });
  const { createApiKey } = await import('../src/identity/key-service.js');
  const { asTenantId } = await import('../src/db/db.js');
  const key = (await createApiKey(ctx, { type: 'system', id: null, ip: null }, asTenantId(String(tenant.id)), { name: 'bench' })).key;
  const channels: string[] = [];
  for (let i = 0; i < CHANNELS; i++) channels.push(String((await call('POST', '/v1/channels', key, { name: `l${i}`, provider: 'cloud-api', credentials: sim.credentials(i), rate_per_second: RATE, burst: RATE })).id));
  say(`setup: database ${dbName}, ${CHANNELS} Cloud API channels on the simulator at ${RATE} msg/s each`);

  let n = 0;
  const msg = () => ({ channel_id: channels[n % CHANNELS], to: `+1650${String(5_000_000 + (n++ % 50_000)).padStart(7, '0')}`, content: { type: 'text', text: 'bench' } });
  const auth = { authorization: `Bearer ${key}` };
  const single = await hammer(`${base}/v1/messages`, auth, () => JSON.stringify(msg()), CONC, SECONDS * 1000, 202);
  const acceptedPerS = single.ok / single.seconds;
  say(`POST /v1/messages: ${round(acceptedPerS)} accepted/s, p50 ${round(percentile(single.latenciesMs, 50), 2)} ms, p99 ${round(percentile(single.latenciesMs, 99), 2)} ms (${single.requests - single.ok} not 202)`);
  const batch = await hammer(`${base}/v1/messages/batch`, auth, () => JSON.stringify({ messages: Array.from({ length: 1000 }, msg) }), 2, SECONDS * 1000, 202);
  const batchPerS = (batch.ok * 1000) / batch.seconds;
  say(`POST /v1/messages/batch (1,000 each): ${round(batchPerS)} accepted/s, p50 ${round(percentile(batch.latenciesMs, 50))} ms per batch`);

  // Delivery: top the backlog up to DELIVER messages spread over every channel, then drain it.
  const backlog = single.ok + batch.ok * 1000;
  for (let have = backlog; have < DELIVER; have += 1000) await call('POST', '/v1/messages/batch', key, { messages: Array.from({ length: 1000 }, msg) });
  const owner = new pg.Client({ connectionString: ownerUrl });
  await owner.connect();
  const total = Number((await owner.query('select count(*) from delivery_jobs')).rows[0].count);
  const sent0 = sim.sent.length;
  const t0 = Date.now();
  const scheds = [startScheduler(ctx, { concurrency: 256, leaseMs: 15_000 })];
  const window = Math.max(SECONDS * 2, 10) * 1000;
  while (Date.now() - t0 < window && sim.sent.length - sent0 < total) await new Promise((r) => setTimeout(r, 100));
  const deliveredPerS = (sim.sent.length - sent0) / ((Date.now() - t0) / 1000);
  await Promise.all(scheds.map((s) => s.stop(5000)));
  const maxRatio = Math.max(...sim.phones.map((p) => sim.maxMessagesPerSecond(p.phoneNumberId) / RATE));
  say(`delivery: ${round(deliveredPerS)} msg/s across ${CHANNELS} channels (${sim.sent.length - sent0} of ${total} in ${round((Date.now() - t0) / 1000)} s), busiest channel at ${round(maxRatio * 100)} % of its limit in its busiest second, ${sim.throttled} throttled`);

  // Baseline 1: pgbench running the accept path's two-row insert transaction.
  await owner.query(`create table bench_msg (tenant_id text, id text, body jsonb, created_at timestamptz default now(), primary key (tenant_id, id));
    create table bench_job (tenant_id text, message_id text, run_at timestamptz default now(), primary key (tenant_id, message_id))`);
  const script = join(tmpdir(), `sb-bench-${process.pid}.sql`);
  writeFileSync(script, `\\set r random(1, 1000000000)\nbegin;\ninsert into bench_msg (tenant_id, id, body) values ('t', :client_id || '-' || :r || '-' || random(), '{"type":"text","text":"bench"}') on conflict do nothing;\ninsert into bench_job (tenant_id, message_id) values ('t', :client_id || '-' || :r || '-' || random()) on conflict do nothing;\ncommit;\n`);
  const out = execFileSync('pgbench', ['-n', '-c', String(CONC), '-j', '2', '-T', String(SECONDS), '-f', script, ownerUrl], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const pgbenchTps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? 0);
  say(`pgbench (same two-row insert transaction, ${CONC} clients): ${round(pgbenchTps)} tps`);

  // Baseline 2: a bare Fastify route on the same machine and the same load generator.
  const bare = Fastify();
  bare.post('/v1/messages', async (_req, reply) => reply.status(202).send({ id: 'msg', status: 'queued' }));
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const f = await hammer(`http://127.0.0.1:${(bare.server.address() as AddressInfo).port}/v1/messages`, {}, () => JSON.stringify(msg()), CONC, SECONDS * 1000, 202);
  const fastifyRps = f.ok / f.seconds;
  say(`bare Fastify route: ${round(fastifyRps)} req/s`);
  await bare.close();

  const figures = {
    accepted_per_s: round(acceptedPerS), batch_accepted_per_s: round(batchPerS), delivered_per_s: round(deliveredPerS),
    accept_p50_ms: round(percentile(single.latenciesMs, 50), 2), accept_p99_ms: round(percentile(single.latenciesMs, 99), 2),
    pgbench_tps: round(pgbenchTps), fastify_rps: round(fastifyRps),
    accepted_vs_pgbench: round(acceptedPerS / pgbenchTps, 3), accepted_vs_fastify: round(acceptedPerS / fastifyRps, 3),
    max_channel_rate_ratio: round(maxRatio, 3), channels: CHANNELS, cores: (await import('node:os')).cpus().length,
  };
  await app.close();
  await owner.end();
  await database.close();
  await sim.close();
  await admin.query(`drop database ${dbName} with (force)`);
  await admin.end();
  say(JSON.stringify(figures));
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
