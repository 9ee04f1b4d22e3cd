import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { asTenantId } from '../../src/db/db.js';
import { rememberProvider } from '../../src/messages/accept-one.js';
import { newId } from '../../src/core/ids.js';
import { bearer } from '../support/app.js';
import { addChannel, send, setup, text, type Setup } from './helpers.js';

/** The group-committed single accept (sb_accept_messages, decisions 017 and 018) against the full path. */
describe('POST /v1/messages: group-committed fast path', () => {
  let s: Setup;
  before(async () => {
    s = await setup({ channels: 2 });
  });
  after(() => s.close());

  const count = (tenantId: string, table: 'messages' | 'delivery_jobs' | 'quota_counters') =>
    s.t.ctx.db.transaction().execute(async (tx) => {
      await sql`select set_config('app.tenant_id', ${tenantId}, true)`.execute(tx);
      return (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(tx)).rows[0]!.n;
    });

  it('a warm channel gets the same answer and rows as the full path: one conversation, message + job', async () => {
    const ch = s.channels[0]!;
    const first = await send(s.t, s.tenant.key, text(ch, '+16505550001', 'one')); // full path, learns the provider
    const second = await send(s.t, s.tenant.key, text(ch, '+16505550001', 'two')); // fast path
    const third = await send(s.t, s.tenant.key, text(ch, '120363025246125486@g.us', 'group')); // fast path, new contact
    for (const r of [first, second, third]) assert.equal(r.statusCode, 202, r.body);
    assert.equal(second.json().conversation_id, first.json().conversation_id);
    assert.notEqual(third.json().conversation_id, first.json().conversation_id);
    assert.match(third.json().conversation_id, /^cnv_[0-9A-Z]{26}$/);
    const g = await s.t.app.inject({ method: 'GET', url: `/v1/messages/${second.json().id}`, headers: bearer(s.tenant.key) });
    assert.equal(g.json().status, 'queued');
    assert.deepEqual(g.json().content, { type: 'text', text: 'two' });
    assert.equal(await count(s.tenant.id, 'messages'), 3);
    assert.equal(await count(s.tenant.id, 'delivery_jobs'), 3);
  });

  it('text PostgreSQL cannot store (a NUL, half a surrogate pair) is a 400 and fails only its own request, not its group', async () => {
    const ch = s.channels[0]!;
    await send(s.t, s.tenant.key, text(ch, '+16505550009', 'warm-up')); // the channel takes the fast path
    for (const bad of ['a\u0000b', 'x\ud800y']) {
      const [r, ok] = await Promise.all([send(s.t, s.tenant.key, text(ch, '+16505550009', bad)), send(s.t, s.tenant.key, text(ch, '+16505550010', 'fine'))]);
      assert.equal(r.statusCode, 400, r.body);
      assert.equal(r.json().code, 'validation_failed');
      assert.equal(ok.statusCode, 202, ok.body);
    }
  });

  it('concurrent first messages to one new peer on a warm channel: one contact, one conversation', async () => {
    const ch = s.channels[0]!;
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => send(s.t, s.tenant.key, text(ch, '+16505550099', `c${i}`))));
    for (const r of rs) assert.equal(r.statusCode, 202, r.body);
    assert.equal(new Set(rs.map((r) => r.json().conversation_id)).size, 1);
    const contacts = await s.t.ctx.db.transaction().execute(async (tx) => {
      await sql`select set_config('app.tenant_id', ${s.tenant.id}, true)`.execute(tx);
      return (await sql<{ n: number }>`select count(*)::int as n from contacts where address = '+16505550099'`.execute(tx)).rows[0]!.n;
    });
    assert.equal(contacts, 1);
  });

  it('RLS inside the function: another tenant\'s channel is 404 even with a provider hint, nothing written', async () => {
    const other = await s.t.tenant();
    const otherCh = await addChannel(s.t, other.key, s.sim, 2);
    rememberProvider(asTenantId(s.tenant.id), otherCh, 'cloud-api');
    const before = await count(s.tenant.id, 'messages');
    const r = await send(s.t, s.tenant.key, text(otherCh, '+16505550002'));
    assert.equal(r.statusCode, 404, r.body);
    assert.equal(await count(s.tenant.id, 'messages'), before);
    assert.equal(await count(other.id, 'messages'), 0);
  });

  it('a stale provider hint falls back to the full path; a disabled warm channel is channel_disabled', async () => {
    const ch = s.channels[1]!;
    rememberProvider(asTenantId(s.tenant.id), ch, 'waha');
    const r = await send(s.t, s.tenant.key, text(ch, '+16505550003'));
    assert.equal(r.statusCode, 202, r.body);
    await s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${ch}`, headers: bearer(s.tenant.key), payload: { status: 'disabled' } });
    const d = await send(s.t, s.tenant.key, text(ch, '+16505550003'));
    assert.equal(d.statusCode, 422);
    assert.equal(d.json().code, 'channel_disabled');
    await s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${ch}`, headers: bearer(s.tenant.key), payload: { status: 'active' } });
  });

  it('over the monthly quota on a warm channel: 429 with Retry-After, counters and rows rolled back', async () => {
    const t = await s.t.tenant();
    const ch = await addChannel(s.t, t.key, s.sim, 3);
    await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${t.id}`, headers: bearer(s.t.adminKey), payload: { limits_override: { messages_per_month: 2 } } });
    for (const to of ['+16505550004', '+16505550005']) assert.equal((await send(s.t, t.key, text(ch, to))).statusCode, 202);
    const over = await send(s.t, t.key, text(ch, '+16505550006'));
    assert.equal(over.statusCode, 429, over.body);
    assert.equal(over.json().code, 'quota_exceeded');
    assert.ok(Number(over.headers['retry-after']) > 0);
    assert.equal(await count(t.id, 'messages'), 2);
    const counter = await s.t.ctx.db.transaction().execute(async (tx) => {
      await sql`select set_config('app.tenant_id', ${t.id}, true)`.execute(tx);
      return (await sql<{ count: number }>`select count from quota_counters where scope = 'tenant' and period like 'm:%'`.execute(tx)).rows[0]!.count;
    });
    assert.equal(counter, 2, 'the refused message did not count');
  });
});

/** sb_accept_messages called directly: one call, several rows, one outcome per row (decision 018). */
describe('sb_accept_messages: per-row outcomes of one group', () => {
  let s: Setup;
  before(async () => {
    s = await setup({ channels: 3 });
  });
  after(() => s.close());

  const call = (tenantId: string, rows: { channel: string; provider?: string; peer: string }[], month = '2026-11') =>
    sql<{ ord: number; outcome: string; conversation_id: string | null }>`
      select * from sb_accept_messages(${tenantId}, ${rows.map(() => newId('msg'))}::text[], ${rows.map((r) => r.channel)}::text[],
        ${rows.map((r) => r.provider ?? 'cloud-api')}::text[], ${rows.map((r) => r.peer)}::text[], ${rows.map(() => newId('ctc'))}::text[],
        ${rows.map(() => newId('cnv'))}::text[], ${rows.map(() => 'text')}::text[], ${rows.map(() => '{"type":"text","text":"x"}')}::jsonb[],
        ${rows.map(() => null)}::text[], ${rows.map(() => '{}')}::jsonb[], ${`d:${month}-29`}, ${`m:${month}`})`.execute(s.t.ctx.db);
  const inTenant = <T>(tenantId: string, q: string) =>
    s.t.ctx.db.transaction().execute(async (tx) => {
      await sql`select set_config('app.tenant_id', ${tenantId}, true)`.execute(tx);
      return (await sql<T>`${sql.raw(q)}`.execute(tx)).rows;
    });

  it('ok, disabled, another tenant\'s channel and a stale provider in one call: only the ok rows are written', async () => {
    const [active, disabled] = [s.channels[0]!, s.channels[1]!];
    await s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${disabled}`, headers: bearer(s.tenant.key), payload: { status: 'disabled' } });
    const other = await s.t.tenant();
    const foreign = await addChannel(s.t, other.key, s.sim, 3);
    const before = (await inTenant<{ n: number }>(s.tenant.id, 'select count(*)::int as n from messages'))[0]!.n;
    const { rows } = await call(s.tenant.id, [
      { channel: active, peer: '+16505550100' },
      { channel: disabled, peer: '+16505550101' },
      { channel: foreign, peer: '+16505550102' },
      { channel: active, provider: 'waha', peer: '+16505550103' },
      { channel: active, peer: '+16505550100' },
    ]);
    assert.deepEqual(rows.map((r) => [r.ord, r.outcome]), [[1, 'ok'], [2, 'disabled'], [3, 'not_found'], [4, 'provider_changed'], [5, 'ok']]);
    assert.equal(rows[0]!.conversation_id, rows[4]!.conversation_id, 'two rows to one new peer share one new conversation');
    assert.deepEqual(rows.slice(1, 4).map((r) => r.conversation_id), [null, null, null]);
    assert.equal((await inTenant<{ n: number }>(s.tenant.id, 'select count(*)::int as n from messages'))[0]!.n, before + 2);
    assert.equal((await inTenant<{ n: number }>(other.id, 'select count(*)::int as n from messages'))[0]!.n, 0, 'nothing written under the other tenant');
    const jobs = await inTenant<{ peer: string }>(s.tenant.id, `select peer from delivery_jobs where channel_id = '${active}' order by seq`);
    assert.deepEqual(jobs.slice(-2).map((j) => j.peer), ['+16505550100', '+16505550100'], 'jobs in request order');
    await s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${disabled}`, headers: bearer(s.tenant.key), payload: { status: 'active' } });
  });

  it('an existing conversation is touched; a new one starts at its first message', async () => {
    const ch = s.channels[2]!;
    const [first] = (await call(s.tenant.id, [{ channel: ch, peer: '+16505550200' }])).rows;
    const at = async () => (await inTenant<{ t: Date }>(s.tenant.id, `select last_message_at as t from conversations where id = '${first!.conversation_id}'`))[0]!.t;
    const t1 = await at();
    assert.ok(t1, 'a new conversation has last_message_at');
    await new Promise((r) => setTimeout(r, 20));
    await call(s.tenant.id, [{ channel: ch, peer: '+16505550200' }, { channel: ch, peer: '+16505550201' }]);
    assert.ok((await at()).getTime() > t1.getTime(), 'the next message moved it');
  });

  it('over quota fails the whole call (SB429) and writes nothing; counters roll back', async () => {
    const t = await s.t.tenant();
    const ch = await addChannel(s.t, t.key, s.sim, 4);
    await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${t.id}`, headers: bearer(s.t.adminKey), payload: { limits_override: { messages_per_month: 2 } } });
    await assert.rejects(call(t.id, [1, 2, 3].map((i) => ({ channel: ch, peer: `+1650555030${i}` }))), (e: { code?: string; message?: string }) => e.code === 'SB429' && e.message === 'month');
    assert.equal((await inTenant<{ n: number }>(t.id, 'select count(*)::int as n from messages'))[0]!.n, 0);
    assert.deepEqual((await call(t.id, [1, 2].map((i) => ({ channel: ch, peer: `+1650555031${i}` })))).rows.map((r) => r.outcome), ['ok', 'ok']);
  });
});

describe('POST /v1/messages: concurrent requests share calls but keep their own answers', () => {
  let s: Setup;
  before(async () => {
    s = await setup({ channels: 2 });
  });
  after(() => s.close());

  it('12 concurrent sends with 5 left on the monthly quota: exactly 5 are accepted, 7 get 429', async () => {
    const t = await s.t.tenant();
    const ch = await addChannel(s.t, t.key, s.sim, 2);
    await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${t.id}`, headers: bearer(s.t.adminKey), payload: { limits_override: { messages_per_month: 6 } } });
    assert.equal((await send(s.t, t.key, text(ch, '+16505550400'))).statusCode, 202); // warms the channel (full path)
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => send(s.t, t.key, text(ch, `+165055504${String(10 + i)}`))));
    const codes = rs.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [...Array(5).fill(202), ...Array(7).fill(429)], rs.map((r) => r.body).join('\n'));
    for (const r of rs.filter((x) => x.statusCode === 429)) assert.equal(r.json().code, 'quota_exceeded');
  });

  it('concurrent sends of two tenants to warm channels, one of them disabled: every answer is its own', async () => {
    const other = await s.t.tenant();
    const otherCh = await addChannel(s.t, other.key, s.sim, 3);
    const [a, b] = [s.channels[0]!, s.channels[1]!];
    for (const [key, ch] of [[s.tenant.key, a], [s.tenant.key, b], [other.key, otherCh]] as const) assert.equal((await send(s.t, key, text(ch, '+16505550500'))).statusCode, 202);
    await s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${b}`, headers: bearer(s.tenant.key), payload: { status: 'disabled' } });
    const plan = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? { key: s.tenant.key, ch: a, want: 202 } : i % 3 === 1 ? { key: s.tenant.key, ch: b, want: 422 } : { key: other.key, ch: otherCh, want: 202 }));
    const rs = await Promise.all(plan.map((p, i) => send(s.t, p.key, text(p.ch, `+165055506${String(10 + i)}`))));
    rs.forEach((r, i) => assert.equal(r.statusCode, plan[i]!.want, r.body));
    const convOwner = await Promise.all(rs.filter((r) => r.statusCode === 202).map(async (r, i) => {
      const key = plan.filter((p) => p.want === 202)[i]!.key;
      return (await s.t.app.inject({ method: 'GET', url: `/v1/messages/${r.json().id}`, headers: bearer(key) })).statusCode;
    }));
    assert.ok(convOwner.every((c) => c === 200), 'each accepted message is readable by its own tenant');
  });
});
