import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearer } from '../support/app.js';
import { periods } from '../../src/delivery/quota.js';
import { addChannel, send, setup, text, type Setup } from './helpers.js';

describe('quotas and usage', () => {
  let s: Setup;
  before(async () => {
    s = await setup({ channels: 1 });
  });
  after(() => s.close());

  it('tenant daily quota: over it is 429 with Retry-After to the day boundary; nothing is written', async () => {
    const r = await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${s.tenant.id}`, headers: bearer(s.t.adminKey), payload: { limits_override: { messages_per_day: 3 } } });
    assert.equal(r.statusCode, 200, r.body);
    for (let i = 0; i < 3; i++) assert.equal((await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505553000'))).statusCode, 202);
    const over = await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505553000'));
    assert.equal(over.statusCode, 429);
    assert.equal(over.json().code, 'quota_exceeded');
    const ra = Number(over.headers['retry-after']);
    assert.ok(ra >= 1 && ra <= 86_400, `Retry-After ${ra}`);
    const batch = await s.t.app.inject({ method: 'POST', url: '/v1/messages/batch', headers: bearer(s.tenant.key), payload: { messages: [text(s.channels[0]!, '+16505553001')] } });
    assert.equal(batch.statusCode, 429);
    const list = await s.t.app.inject({ method: 'GET', url: '/v1/messages?limit=200', headers: bearer(s.tenant.key) });
    assert.equal(list.json().data.length, 3);
    await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${s.tenant.id}`, headers: bearer(s.t.adminKey), payload: { limits_override: { messages_per_day: null } } });
  });

  it('channel daily limit and monthly quota', async () => {
    const other = await s.t.tenant();
    const ch = await addChannel(s.t, other.key, s.sim, 1, undefined, 2);
    assert.equal((await send(s.t, other.key, text(ch, '+16505553100'))).statusCode, 202);
    assert.equal((await send(s.t, other.key, text(ch, '+16505553100'))).statusCode, 202);
    const over = await send(s.t, other.key, text(ch, '+16505553100'));
    assert.equal(over.statusCode, 429);
    assert.match(over.json().detail, /daily limit of channel/);
    await s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${ch}`, headers: bearer(other.key), payload: { daily_limit: null } });
    await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${other.id}`, headers: bearer(s.t.adminKey), payload: { limits_override: { messages_per_month: 3 } } });
    assert.equal((await send(s.t, other.key, text(ch, '+16505553100'))).statusCode, 202);
    const month = await send(s.t, other.key, text(ch, '+16505553100'));
    assert.equal(month.statusCode, 429);
    assert.match(month.json().detail, /monthly/);
  });

  it('a limit removed and set again counts what was sent meanwhile (tenant and channel): the counters follow the limits', async () => {
    const tn = await s.t.tenant();
    const ch = await addChannel(s.t, tn.key, s.sim, 2);
    const admin = bearer(s.t.adminKey);
    const limitTenant = (n: number | null) => s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${tn.id}`, headers: admin, payload: { limits_override: { messages_per_day: n } } });
    const sendN = async (n: number) => {
      const codes: number[] = [];
      for (let i = 0; i < n; i++) codes.push((await send(s.t, tn.key, text(ch, '+16505553200'))).statusCode);
      return codes;
    };
    assert.equal((await limitTenant(5)).statusCode, 200);
    assert.deepEqual(await sendN(2), [202, 202]);
    await limitTenant(null);
    assert.deepEqual(await sendN(4), [202, 202, 202, 202]);
    await limitTenant(5);
    assert.deepEqual(await sendN(1), [429], 'six sent today against a limit of five');
    await limitTenant(null);
    // The channel's own daily limit, the same way.
    const limitChannel = (n: number | null) => s.t.app.inject({ method: 'PATCH', url: `/v1/channels/${ch}`, headers: bearer(tn.key), payload: { daily_limit: n } });
    assert.equal((await limitChannel(8)).statusCode, 200);
    assert.deepEqual(await sendN(1), [202]);
    await limitChannel(null);
    assert.deepEqual(await sendN(2), [202, 202]);
    await limitChannel(8);
    assert.deepEqual(await sendN(1), [429], 'nine sent on the line against its eight');
    await limitChannel(null);
    // A plan's limit, for every tenant on it.
    const plan = { id: 'quota-follow', name: 'Q', messages_per_day: 12, messages_per_month: null, max_channels: null, api_requests_per_minute: null };
    assert.equal((await s.t.app.inject({ method: 'POST', url: '/admin/plans', headers: admin, payload: plan })).statusCode, 201);
    assert.equal((await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${tn.id}`, headers: admin, payload: { plan: 'quota-follow', limits_override: {} } })).statusCode, 200);
    const limitPlan = (n: number | null) => s.t.app.inject({ method: 'PATCH', url: '/admin/plans/quota-follow', headers: admin, payload: { messages_per_day: n } });
    assert.deepEqual(await sendN(1), [202], 'ten sent today against the plan\'s twelve');
    await limitPlan(null);
    assert.deepEqual(await sendN(2), [202, 202]);
    assert.equal((await limitPlan(12)).statusCode, 200);
    assert.deepEqual(await sendN(1), [429], 'twelve sent today against the plan\'s twelve');
  });

  it("a deleted channel's messages stay in the usage reports and count against a limit set afterwards", async () => {
    const tn = await s.t.tenant();
    const ch = await addChannel(s.t, tn.key, s.sim, 3);
    for (let i = 0; i < 3; i++) assert.equal((await send(s.t, tn.key, text(ch, '+16505553300'))).statusCode, 202);
    const usageOf = async (key: string, url: string) => ((await s.t.app.inject({ url, headers: bearer(key) })).json().data as { channel_id: string; count: number; tenant_id?: string }[]);
    const sum = (rows: { channel_id: string; count: number }[]) => rows.filter((r) => r.channel_id === ch).reduce((a, r) => a + r.count, 0);
    assert.equal(sum(await usageOf(tn.key, '/v1/usage')), 3);
    assert.equal((await s.t.app.inject({ method: 'DELETE', url: `/v1/channels/${ch}`, headers: bearer(tn.key) })).statusCode, 204);
    assert.equal(sum(await usageOf(tn.key, '/v1/usage')), 3, 'still in the tenant report');
    assert.equal(sum((await usageOf(s.t.adminKey, '/admin/usage')).filter((r) => r.tenant_id === tn.id)), 3, 'and in the admin report');
    // A daily limit of 4 set now: the three sent on the deleted line count, one more fits.
    await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${tn.id}`, headers: bearer(s.t.adminKey), payload: { limits_override: { messages_per_day: 4 } } });
    const again = await addChannel(s.t, tn.key, s.sim, 3);
    assert.equal((await send(s.t, tn.key, text(again, '+16505553300'))).statusCode, 202);
    assert.equal((await send(s.t, tn.key, text(again, '+16505553300'))).statusCode, 429);
  });

  it('periods reset at the UTC day and month boundary', () => {
    const p = periods(new Date('2026-01-31T23:59:30Z'));
    assert.equal(p.day, 'd:2026-01-31');
    assert.equal(p.month, 'm:2026-01');
    assert.equal(p.secondsToDayEnd, 30);
    assert.equal(p.secondsToMonthEnd, 30);
    assert.equal(periods(new Date('2026-02-01T00:00:00Z')).day, 'd:2026-02-01');
  });

  it('usage per day by channel, direction, type, outcome; CSV export; admin sees all tenants, tenants only theirs', async () => {
    const u = await s.t.app.inject({ method: 'GET', url: '/v1/usage', headers: bearer(s.tenant.key) });
    assert.equal(u.statusCode, 200, u.body);
    const rows = u.json().data as { channel_id: string; outcome: string; count: number; direction: string; type: string }[];
    assert.deepEqual(rows.map((r) => [r.channel_id, r.direction, r.type, r.outcome, r.count]), [[s.channels[0], 'out', 'text', 'pending', 3]]);
    const csv = await s.t.app.inject({ method: 'GET', url: '/v1/usage?format=csv', headers: bearer(s.tenant.key) });
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    const lines = csv.body.trim().split('\r\n');
    assert.equal(lines[0], 'day,channel_id,direction,type,outcome,count');
    assert.match(lines[1]!, new RegExp(`^\\d{4}-\\d\\d-\\d\\d,${s.channels[0]},out,text,pending,3$`));
    const all = await s.t.app.inject({ method: 'GET', url: '/admin/usage', headers: bearer(s.t.adminKey) });
    assert.equal(all.statusCode, 200, all.body);
    assert.ok(new Set(all.json().data.map((r: { tenant_id: string }) => r.tenant_id)).size >= 2);
    assert.equal((await s.t.app.inject({ method: 'GET', url: '/admin/usage', headers: bearer(s.tenant.key) })).statusCode, 403);
    assert.equal((await s.t.app.inject({ method: 'GET', url: '/v1/usage?from=2026-05-01&to=2026-01-01', headers: bearer(s.tenant.key) })).statusCode, 400);
    // At most 366 days, both ends included (a leap year); year 0 does not exist in PostgreSQL.
    const usage = (q: string) => s.t.app.inject({ method: 'GET', url: `/v1/usage?${q}`, headers: bearer(s.tenant.key) });
    assert.equal((await usage('from=2024-01-01&to=2024-12-31')).statusCode, 200);
    assert.equal((await usage('from=2023-12-31&to=2024-12-31')).statusCode, 400);
    const year0 = await usage('from=0000-01-01&to=0000-12-01');
    assert.equal(year0.statusCode, 400);
    assert.match(year0.json().detail, /0001-01-01/);
  });
});
