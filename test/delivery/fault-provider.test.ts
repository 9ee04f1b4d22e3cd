/**
 * The provider answers 429 / 5xx / hangs for a while: backoff without a hot loop, everything sent
 * after recovery. Default outage 6 s; the full minute: SB_FAULT_SCALE=1 npm test -- fault-provider
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearer } from '../support/app.js';
import { startScheduler } from '../../src/delivery/scheduler.js';
import { setup, text, until, type Setup } from './helpers.js';

const SCALE = Number(process.env.SB_FAULT_SCALE ?? 0.1);
const OUTAGE_MS = Math.max(3000, 60_000 * SCALE);
const MESSAGES = 60;
const graph = (status: number, code: number, headers?: Record<string, string>) => ({
  status, json: { error: { message: `fault ${code}`, type: 'OAuthException', code, fbtrace_id: 'Afault' } }, ...(headers ? { headers } : {}),
});

describe(`provider outage of ${OUTAGE_MS / 1000} s (429, 5xx, timeouts)`, () => {
  let s: Setup;
  before(async () => {
    s = await setup({ channels: 3 });
  });
  after(() => s.close());

  it('backs off without a hot loop and delivers everything after recovery', { timeout: 300_000 }, async () => {
    const third = OUTAGE_MS / 3;
    s.sim.server.injectFault({ path: '/messages', times: Infinity, response: graph(429, 130429, { 'retry-after': '1' }) });
    const r = await s.t.app.inject({ method: 'POST', url: '/v1/messages/batch', headers: bearer(s.tenant.key), payload: { messages: Array.from({ length: MESSAGES }, (_, i) => text(s.channels[i % 3]!, `+1650559${String(i).padStart(4, '0')}`)) } });
    assert.equal(r.statusCode, 202);
    const before = s.sim.server.requests('/messages').length;
    const sched = startScheduler(s.t.ctx, { leaseMs: 5000, retry: { baseDelayMs: 250, maxDelayMs: 2000, maxAgeMs: 10 * 60_000 } });
    try {
      await new Promise((res) => setTimeout(res, third));
      s.sim.server.clearFaults();
      s.sim.server.injectFault({ path: '/messages', times: Infinity, response: graph(503, 2) });
      await new Promise((res) => setTimeout(res, third));
      s.sim.server.clearFaults();
      // Hangs until the adapter's timeout (3 s in the test app).
      s.sim.server.injectFault({ path: '/messages', times: Infinity, hang: true });
      await new Promise((res) => setTimeout(res, third));
      s.sim.server.clearFaults();
      const during = s.sim.server.requests('/messages').length - before;
      // Exponential backoff from 250 ms capped at 2 s: at most ~log2(8) + outage/2 s tries per message;
      // a hot loop would make thousands.
      const bound = MESSAGES * (4 + Math.ceil(OUTAGE_MS / 2000));
      assert.ok(during <= bound, `${during} provider calls during the outage (bound ${bound})`);
      assert.ok(during >= 3, 'the scheduler kept probing');
      const sent = async () => (await s.t.app.inject({ method: 'GET', url: '/v1/messages?status=sent&limit=200', headers: bearer(s.tenant.key) })).json().data.length as number;
      await until(async () => (await sent()) === MESSAGES, 60_000, 'all sent after recovery');
      assert.equal(new Set(s.sim.sent.map((x) => x.body.biz_opaque_callback_data)).size, MESSAGES);
      process.stdout.write(`# ${during} provider calls for ${MESSAGES} messages during a ${OUTAGE_MS} ms outage\n`);
    } finally {
      await sched.stop(1000);
    }
  });
});
