import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearer } from '../support/app.js';
import { startScheduler } from '../../src/delivery/scheduler.js';
import { send, setup, text, until, type Setup } from './helpers.js';

/** Suspending a tenant stops its sending too: queued messages are held, and go out on reactivation. */
let s: Setup;
before(async () => {
  s = await setup({ channels: 1, rate: 20 });
});
after(() => s.close());

it("a suspended tenant's queued messages are held, then sent once it is reactivated", async () => {
  const id = (await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505550401'))).json().id as string;
  const admin = bearer(s.t.adminKey);
  const tenantId = (await s.t.app.inject({ url: '/v1/tenant', headers: bearer(s.tenant.key) })).json().id as string;
  assert.equal((await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${tenantId}`, headers: admin, payload: { status: 'suspended' } })).statusCode, 200);
  const sched = startScheduler(s.t.ctx, { retry: { baseDelayMs: 100, maxDelayMs: 400, maxAgeMs: 60_000 }, leaseMs: 2000 });
  try {
    // Long enough for many claim rounds (the scheduler polls every few hundred ms at most).
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(s.sim.sent.length, 0, 'nothing reached the provider while suspended');
    assert.equal((await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${tenantId}`, headers: admin, payload: { status: 'active' } })).statusCode, 200);
    await until(async () => (await s.t.app.inject({ url: `/v1/messages/${id}`, headers: bearer(s.tenant.key) })).json().status === 'sent', 10_000, 'sent after reactivation');
    assert.equal(s.sim.sent.length, 1);
  } finally {
    await sched.stop(1000);
  }
});

it('a held message still fails at the maximum age, with its event (review of 2026-12-01: it stayed queued)', async () => {
  const id = (await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505550402'))).json().id as string;
  const admin = bearer(s.t.adminKey);
  const tenantId = (await s.t.app.inject({ url: '/v1/tenant', headers: bearer(s.tenant.key) })).json().id as string;
  assert.equal((await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${tenantId}`, headers: admin, payload: { status: 'suspended' } })).statusCode, 200);
  const sched = startScheduler(s.t.ctx, { retry: { baseDelayMs: 100, maxDelayMs: 400, maxAgeMs: 1500 }, leaseMs: 2000 });
  try {
    const msg = () => s.t.asOwner(async (o) => (await o.query<{ status: string; error_code: string | null }>('select status, error_code from messages where id = $1', [id])).rows[0]!);
    await until(async () => (await msg()).status === 'failed', 10_000, 'failed at the maximum age');
    assert.equal((await msg()).error_code, 'expired');
    const events = await s.t.asOwner(async (o) => (await o.query<{ data: { status: string } }>("select data from events where type = 'message.status' and data->>'message_id' = $1", [id])).rows);
    assert.deepEqual(events.map((e) => e.data.status), ['failed']);
    assert.equal(s.sim.sent.filter((m) => JSON.stringify(m).includes('16505550402')).length, 0, 'never sent');
  } finally {
    await sched.stop(1000);
    await s.t.app.inject({ method: 'PATCH', url: `/admin/tenants/${tenantId}`, headers: admin, payload: { status: 'active' } });
  }
});
