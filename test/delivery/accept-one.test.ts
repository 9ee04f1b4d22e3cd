import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { asTenantId } from '../../src/db/db.js';
import { rememberProvider } from '../../src/messages/accept-one.js';
import { bearer } from '../support/app.js';
import { addChannel, send, setup, text, type Setup } from './helpers.js';

/** The one-round-trip single accept (sb_accept_message, decision 017) against the full path. */
describe('POST /v1/messages: one-statement fast path', () => {
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
