/**
 * `npm run bench:inbox-put-ab` — the acknowledge path's commit-group insert in its two encodings,
 * alternating call by call on one PostgreSQL backend (A B B A …) so that a noisy machine slows both
 * alike: A = `sb_inbox_put_many` (bodies as a bytea[] parameter, headers as jsonb[] — node-postgres
 * sends arrays as text, every body hex-encoded), B = `sb_inbox_put_packed` (migration 039: the
 * bodies as one binary bytea parameter plus their lengths, the headers as one JSON array).
 * Measured per row: the backend's CPU (/proc/<pid>/schedstat; Linux, database on this machine) and
 * this process's CPU for building, sending and awaiting the statement (process.cpuUsage: the
 * client side of what the acknowledging thread pays). Bodies are the inbound bench's signed Cloud
 * API webhooks (~400 bytes; AB_BODY_BYTES pads the text to reach a size). The first 40 calls warm
 * up; the inbox is emptied every 50 calls (untimed).
 * Options: BENCH_DATABASE_URL, AB_CALLS (2000), AB_GROUP (15 rows a call, the bench's peak groups),
 * AB_BODY_BYTES. Ends with one JSON line: µs per row for each, and B / A.
 */
import { readFileSync } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import { sql } from 'kysely';

process.env.SB_TEST_ADMIN_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const { startTestApp } = await import('../test/support/app.js');
const { makeChannel, cloudCreds, owner } = await import('../test/inbound/support.js');
const { openDatabase } = await import('../src/db/db.js');
const { newId } = await import('../src/core/ids.js');
const { packInboxGroup } = await import('../src/inbound/inbox.js');

const CALLS = Number(process.env.AB_CALLS ?? 2000);
const GROUP = Number(process.env.AB_GROUP ?? 15);
const BODY_BYTES = Number(process.env.AB_BODY_BYTES ?? 0);
const WARMUP = 40;
const log = (...a: unknown[]) => console.error('[inbox-put-ab]', ...a);
log(`${CALLS} calls of ${GROUP} rows, A = sb_inbox_put_many (arrays as text), B = sb_inbox_put_packed (one binary body parameter)`);

function body(line: string): Buffer {
  const from = `1555${Math.floor(Math.random() * 9_000_000 + 1_000_000)}`;
  const text = `bench message from ${from}`;
  const doc = (t: string) => JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: 'WABA', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550000000', phone_number_id: line },
      contacts: [{ wa_id: from, profile: { name: `Bench ${from}` } }],
      messages: [{ from, id: `wamid.${randomBytes(16).toString('hex')}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: t } }],
    } }] }],
  });
  const plain = doc(text);
  return Buffer.from(BODY_BYTES > plain.length ? doc(text + ' '.repeat(BODY_BYTES - plain.length)) : plain);
}

const t = await startTestApp();
const conn = openDatabase(t.testDb.appUrl, 1);
try {
  const tenant = await t.tenant();
  const lines: { line: string; id: string }[] = [];
  for (const line of ['555000201', '555000202', '555000203', '555000204']) lines.push({ line, ...(await makeChannel(t, tenant.id, 'cloud-api', cloudCreds(line))) });
  const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn.db)).rows[0]!.pid;
  const backendNs = () => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  const clientUs = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const total = { A: { backendNs: 0, clientUs: 0, rows: 0 }, B: { backendNs: 0, clientUs: 0, rows: 0 } };
  let seq = 0;
  for (let call = 0; call < CALLS; call++) {
    if (call % 50 === 0) await owner(t).deleteFrom('inbox').execute();
    const v = call % 4 === 0 || call % 4 === 3 ? 'A' : 'B';
    // Made untimed: what the request path already holds when a group is written.
    const group = Array.from({ length: GROUP }, () => {
      const ch = lines[seq++ % lines.length]!;
      const b = body(ch.line);
      const headers = { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', 'bench').update(b).digest('hex')}` };
      return { tenantId: tenant.id, id: newId('inb'), channelId: ch.id, provider: 'cloud-api', body: b, headers, split: false };
    });
    const c0 = clientUs();
    const b0 = backendNs();
    if (v === 'A') {
      const c = <T>(f: (p: (typeof group)[number]) => T) => group.map(f);
      await sql`select sb_inbox_put_many(${c((p) => p.tenantId)}::text[], ${c((p) => p.id)}::text[], ${c((p) => p.channelId)}::text[],
        ${c((p) => p.provider)}::text[], ${c((p) => p.body)}::bytea[], ${c((p) => JSON.stringify(p.headers))}::jsonb[], ${c((p) => p.split)}::boolean[])`.execute(conn.db);
    } else {
      const p = packInboxGroup(group.map((r) => ({ w: r, id: r.id })));
      await sql`select sb_inbox_put_packed(${p.tenants}::text[], ${p.ids}::text[], ${p.channels}::text[], ${p.providers}::text[], ${p.bodies}::bytea, ${p.lengths}::integer[], ${p.headers}::jsonb, ${p.split}::boolean[])`.execute(conn.db);
    }
    const b1 = backendNs();
    const c1 = clientUs();
    if (call >= WARMUP) {
      total[v].backendNs += b1 - b0;
      total[v].clientUs += c1 - c0;
      total[v].rows += GROUP;
    }
    if ((call + 1) % 500 === 0) log(`${call + 1}/${CALLS} calls`);
  }
  const n = await owner(t).selectFrom('inbox').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  if (Number(n.n) !== (CALLS % 50 || 50) * GROUP) throw new Error(`expected ${(CALLS % 50 || 50) * GROUP} inbox rows since the last emptying, found ${n.n}`);
  const r = (x: number) => Math.round(x * 100) / 100;
  const per = (x: { backendNs: number; clientUs: number; rows: number }) => ({ backend_us_per_row: r(x.backendNs / 1000 / x.rows), client_us_per_row: r(x.clientUs / x.rows) });
  const a = per(total.A);
  const b = per(total.B);
  console.log(JSON.stringify({
    a, b,
    b_vs_a_backend: r(b.backend_us_per_row / a.backend_us_per_row),
    b_vs_a_client: r(b.client_us_per_row / a.client_us_per_row),
    calls: CALLS, group: GROUP, body_bytes: group0Bytes(),
  }));
} finally {
  await conn.close();
  await t.close();
}

function group0Bytes(): number {
  return body('555000201').length;
}
