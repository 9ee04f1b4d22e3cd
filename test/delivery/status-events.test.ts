import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearer } from '../support/app.js';
import { startScheduler } from '../../src/delivery/scheduler.js';
import { send, setup, text, until, type Setup } from './helpers.js';

/** Status changes made by the scheduler (sent, failed) are tenant events, like webhook statuses. */
let s: Setup;
before(async () => {
  s = await setup({ channels: 1, rate: 20 });
});
after(() => s.close());

it('a sent and a permanently failed message each produce one message.status event', async () => {
  s.sim.server.injectFault({ path: '/messages', times: 1, response: { status: 400, json: { error: { message: '(#131026) undeliverable', type: 'OAuthException', code: 131026, fbtrace_id: 'x' } } } });
  const failed = (await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505550301'))).json().id as string;
  const ok = (await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505550302'))).json().id as string;
  const sched = startScheduler(s.t.ctx, { retry: { baseDelayMs: 100, maxDelayMs: 400, maxAgeMs: 60_000 }, leaseMs: 2000 });
  try {
    const events = async () =>
      ((await s.t.app.inject({ url: '/v1/events?limit=200', headers: bearer(s.tenant.key) })).json().data as { type: string; data: { message_id: string; status: string } }[])
        .filter((e) => e.type === 'message.status');
    await until(async () => (await events()).length >= 2, 10_000, 'two status events');
    const ev = await events();
    assert.deepEqual(ev.filter((e) => e.data.message_id === ok).map((e) => e.data.status), ['sent']);
    assert.deepEqual(ev.filter((e) => e.data.message_id === failed).map((e) => e.data.status), ['failed']);
  } finally {
    await sched.stop(1000);
  }
});
