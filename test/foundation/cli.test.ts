import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, TEST_APP_ROLE, type TestDatabase } from '../support/db.js';
import { mayNice, runCli } from '../support/cli.js';
import { skipWithoutRedis, TEST_REDIS_URL } from '../support/redis.js';
import { createCloudApiSimulator, type CloudApiSimulator } from '../../src/providers/cloud-api/index.js';

let db: TestDatabase;
let sim: CloudApiSimulator;
let env: Record<string, string>;
before(async () => {
  db = await createTestDatabase();
  sim = createCloudApiSimulator({ phones: [{ phoneNumberId: '5000001', wabaId: '6000001', accessToken: 'EAAG-cli-token-0001' }] });
  await sim.listen();
  env = { DATABASE_URL: db.ownerUrl, DB_APP_ROLE: TEST_APP_ROLE, MASTER_KEY: randomBytes(32).toString('base64'), EGRESS_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'warn' };
});
after(async () => {
  await sim.close();
  await db.drop();
});

const json = (out: string) => JSON.parse(out) as Record<string, unknown>;

test('the CLI creates tenants, keys and channels as scriptable JSON', async () => {
  const t = await runCli(['tenants', 'create', '--slug', 'cli-co', '--name', 'CLI Co', '--plan', 'pro', '--json'], env);
  assert.equal(t.code, 0, t.stderr);
  assert.equal(json(t.stdout).slug, 'cli-co');
  const k = await runCli(['keys', 'create', '--tenant', 'cli-co', '--name', 'ci', '--scopes', 'channels:read,channels:write', '--json'], env);
  assert.equal(k.code, 0, k.stderr);
  const key = json(k.stdout);
  assert.match(String(key.key), /^sb_live_[0-9A-Za-z]{36}$/);
  assert.deepEqual(key.scopes, ['channels:read', 'channels:write']);
  const creds = JSON.stringify({ phoneNumberId: '5000001', wabaId: '6000001', accessToken: 'EAAG-cli-token-0001', appSecret: 'cli-app-secret', verifyToken: 'v', graphBaseUrl: sim.url });
  const c = await runCli(['channels', 'add', '--tenant', 'cli-co', '--provider', 'cloud-api', '--name', 'main', '--credentials', creds, '--json'], env);
  assert.equal(c.code, 0, c.stderr);
  assert.ok(!c.stdout.includes('EAAG-cli-token-0001'), 'the CLI never prints a stored secret');
  const list = await runCli(['channels', 'list', '--tenant', 'cli-co', '--json'], env);
  assert.equal((JSON.parse(list.stdout) as unknown[]).length, 1);
  const revoked = await runCli(['keys', 'revoke', '--tenant', 'cli-co', String(key.id), '--json'], env);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.ok(json(revoked.stdout).revoked_at);
});

test('--json output stays parseable when the development master key warning is logged', async () => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'sb-cli-'));
  try {
    const { MASTER_KEY: _drop, ...noKey } = env;
    const r = await runCli(['tenants', 'create', '--slug', 'nokey-co', '--json'], { ...noKey, DATA_DIR: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json(r.stdout).slug, 'nokey-co');
    assert.match(r.stderr, /MASTER_KEY is not set/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('CLI errors are one clear line and a non-zero exit', async () => {
  const dup = await runCli(['tenants', 'create', '--slug', 'cli-co', '--json'], env);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /error \(conflict\)/);
  const usage = await runCli(['keys', 'create'], env);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--tenant is required/);
  const bad = await runCli(['tenants', 'list'], { ...env, PORT: 'eighty', MASTER_KEY: 'short' });
  assert.equal(bad.code, 78);
  assert.match(bad.stderr, /PORT must be an integer/);
  assert.match(bad.stderr, /MASTER_KEY must be 32 bytes/, 'every config problem is listed at once');
});

test('doctor reports the role and RLS checks green', async () => {
  const d = await runCli(['doctor'], env);
  assert.equal(d.code, 0, d.stdout + d.stderr);
  assert.match(d.stdout, /✔ app role is not superuser/);
  assert.match(d.stdout, /✔ no tenant set ⇒ no rows/);
  assert.match(d.stdout, /✔ tenant table channels/);
  assert.match(d.stdout, /✔ PostgreSQL checkpoints: max_wal_size \d+ MB, checkpoint_timeout \d+ s: above ~\d+ webhooks\/s/);
  assert.match(d.stdout, /[✔!] PostgreSQL autovacuum: (on|off: )/, 'autovacuum is read from the server (advice when off)');
  assert.match(d.stdout, (await mayNice(-5)) ? /✔ HTTP thread priority: nice -5 permitted/ : /! HTTP thread priority: nice -5 not permitted here/);
  assert.doesNotMatch(d.stdout, /✘/);
  assert.doesNotMatch(d.stdout, /redis/, 'no REDIS_URL, no Redis check');
});

test('doctor says when the Redis of REDIS_URL does not answer', async () => {
  const down = await runCli(['doctor'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
  assert.equal(down.code, 1, down.stdout + down.stderr);
  assert.match(down.stdout, /✘ redis reachable: 127\.0\.0\.1:1: .*counted per process meanwhile/);
});

test('doctor says when it does', { skip: await skipWithoutRedis() }, async () => {
  const up = await runCli(['doctor'], { ...env, REDIS_URL: TEST_REDIS_URL });
  assert.equal(up.code, 0, up.stdout + up.stderr);
  assert.match(up.stdout, /✔ redis reachable: .*counted across processes/);
});

test('Switchboard refuses to run on an app connection that row-level security does not confine (the owner), and doctor says so', async () => {
  const asOwner = { ...env, APP_DATABASE_URL: db.ownerUrl };
  const r = await runCli(['tenants', 'list', '--json'], asOwner);
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, /not subject to row-level security \(.*(superuser|owns the tables)/);
  const d = await runCli(['doctor'], asOwner);
  assert.match(d.stdout, /✘ the app connection is subject to row-level security/);
  assert.match((await runCli(['doctor'], env)).stdout, /✔ the app connection is subject to row-level security/);
});

test('superadmin keys: created with an expiry, listed, revoked from the CLI', async () => {
  const made = await runCli(['superadmin', 'key', '--name', 'ops', '--expires-in-days', '30', '--json'], env);
  assert.equal(made.code, 0, made.stderr);
  const key = json(made.stdout) as { id: string; key: string; expires_at: string };
  const days = (Date.parse(key.expires_at) - Date.now()) / 86_400_000;
  assert.ok(days > 29.9 && days <= 30, `expires in ${days} days`);
  assert.equal((await runCli(['superadmin', 'key', '--expires-in-days', 'soon'], env)).code, 2);
  const listed = JSON.parse((await runCli(['superadmin', 'keys', '--json'], env)).stdout) as { id: string; expires_at: string | null; revoked_at: string | null }[];
  assert.equal(listed.find((k) => k.id === key.id)?.expires_at, key.expires_at);
  const revoked = await runCli(['superadmin', 'key', 'revoke', key.id, '--json'], env);
  assert.equal(revoked.code, 0, revoked.stderr);
  const after = JSON.parse((await runCli(['superadmin', 'keys', '--json'], env)).stdout) as { id: string; revoked_at: string | null }[];
  assert.ok(after.find((k) => k.id === key.id)?.revoked_at);
  assert.notEqual((await runCli(['superadmin', 'key', 'revoke', key.id], env)).code, 0, 'revoking twice says so');
  // The most privileged credentials are configuration changes like any other: in the platform's
  // audit log, with the operator (review of 2026-12-01: they left no entry).
  const admin = await runCli(['superadmin', 'create', '--email', 'ops@platform.example', '--json'], env);
  assert.equal(admin.code, 0, admin.stderr);
  const pg = (await import('pg')).default;
  const owner = new pg.Client({ connectionString: db.ownerUrl });
  await owner.connect();
  try {
    const { rows } = await owner.query<{ action: string; target_id: string; actor_type: string; details: Record<string, unknown> }>(
      "select action, target_id, actor_type, details from audit_log where tenant_id = 'platform' and action in ('admin_key.created', 'admin_key.revoked', 'superadmin.created') order by id");
    assert.deepEqual(rows.filter((r) => r.target_id === key.id).map((r) => r.action), ['admin_key.created', 'admin_key.revoked']);
    assert.ok(rows.some((r) => r.action === 'superadmin.created' && r.target_id === json(admin.stdout).id));
    assert.ok(rows.every((r) => r.actor_type === 'cli'));
    assert.ok(!JSON.stringify(rows).includes(key.key), 'no key in the audit log');
  } finally {
    await owner.end();
  }
});

test('a long --json list piped to another program arrives whole, past the first page (review of 2026-12-01: cut at 64 KiB, exit 0; and at 1,001 rows)', async () => {
  const pg = (await import('pg')).default;
  const owner = new pg.Client({ connectionString: db.ownerUrl });
  await owner.connect();
  try {
    await owner.query(`insert into tenants (id, slug, name, plan_id)
      select 'ten_PIPE' || lpad(i::text, 22, '0'), 'pipe-' || i, 'Piped tenant number ' || i, 'free' from generate_series(1, 1105) as i`);
    const list = await runCli(['tenants', 'list', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.ok(list.stdout.length > 256 * 1024, `${list.stdout.length} bytes`);
    const rows = JSON.parse(list.stdout) as { slug: string }[];
    assert.equal(rows.filter((r) => r.slug.startsWith('pipe-')).length, 1105);
    assert.equal(new Set(rows.map((r) => r.slug)).size, rows.length, 'no row twice across pages');
  } finally {
    await owner.query("delete from tenants where id like 'ten_PIPE%'");
    await owner.end();
  }
});

test('CLI argument mistakes are usage errors (exit 2), never an all-scope key or a stack trace', async () => {
  const empty = await runCli(['keys', 'create', '--tenant', 'cli-co', '--scopes', '', '--json'], env);
  assert.equal(empty.code, 2, empty.stdout);
  assert.match(empty.stderr, /--scopes names no scope/);
  for (const credentials of ['null', '[1]', '"x"', '@/nonexistent/creds.json']) {
    const r = await runCli(['channels', 'add', '--tenant', 'cli-co', '--provider', 'cloud-api', '--name', 'x', '--credentials', credentials], env);
    assert.equal(r.code, 2, `${credentials}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const port = await runCli(['simulate', 'sandbox', '--port', 'abc'], env);
  assert.equal(port.code, 2, port.stderr);
  assert.match(port.stderr, /--port must be a port number/);
  const provider = await runCli(['simulate', 'bogus'], env);
  assert.equal(provider.code, 2, provider.stderr);
});

test('channels add reads credentials from a file, keeping secrets off the command line', async () => {
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'sb-creds-'));
  try {
    const other = createCloudApiSimulator({ phones: [{ phoneNumberId: '5000002', wabaId: '6000002', accessToken: 'EAAG-cli-token-0002' }] });
    await other.listen();
    try {
      const file = join(dir, 'creds.json');
      await writeFile(file, JSON.stringify({ phoneNumberId: '5000002', wabaId: '6000002', accessToken: 'EAAG-cli-token-0002', appSecret: 'cli-app-secret', verifyToken: 'v', graphBaseUrl: other.url }));
      const c = await runCli(['channels', 'add', '--tenant', 'cli-co', '--provider', 'cloud-api', '--name', 'from-file', '--credentials', `@${file}`, '--json'], env);
      assert.equal(c.code, 0, c.stderr);
      assert.equal(json(c.stdout).external_id, '5000002');
    } finally {
      await other.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('doctor with an unreachable database lists its checks and says what to do, without a stack trace', async () => {
  const d = await runCli(['doctor'], { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
  assert.equal(d.code, 1, d.stdout + d.stderr);
  assert.match(d.stdout, /✔ configuration/);
  assert.match(d.stdout, /✘ database reachable \(owner\): .*ECONNREFUSED.*check DATABASE_URL/);
  assert.doesNotMatch(d.stdout, /app role/, 'checks that need the server are not run against a server that is not there');
  assert.doesNotMatch(d.stdout + d.stderr, /\n\s+at /);
  const other = await runCli(['tenants', 'list'], { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
  assert.equal(other.code, 1);
  assert.match(other.stderr, /^the database is not reachable: .*\n\(check DATABASE_URL/);
});

test('secrets sealed under another master key, and a port already taken, are one line each with what to check', async () => {
  // The channels added above were sealed under env.MASTER_KEY; rotating with only another key cannot open them.
  const v = await runCli(['vault', 'rotate'], { ...env, MASTER_KEY: randomBytes(32).toString('base64') });
  assert.equal(v.code, 1, v.stdout + v.stderr);
  const last = v.stderr.trimEnd().split('\n').at(-1)!;
  assert.match(last, /^vault: no master key with id \w+ is configured \(MASTER_KEY \/ MASTER_KEY_PREVIOUS\)$/, 'named once, not twice');
  assert.doesNotMatch(v.stderr, /\n\s+at /);
  const { createServer } = await import('node:net');
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  try {
    const port = (taken.address() as { port: number }).port;
    const s = await runCli(['serve', '--port', String(port)], { ...env, HOST: '127.0.0.1' });
    assert.equal(s.code, 1, s.stdout + s.stderr);
    assert.match(s.stderr, new RegExp(`EADDRINUSE.*${port}.*: the port is taken \\(choose another with --port\\)`));
    assert.doesNotMatch(s.stderr, /\n\s+at /);
  } finally {
    taken.close();
  }
});
