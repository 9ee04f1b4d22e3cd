/**
 * WhatsApp-Web lines pause a random while before each send (less robotic, fewer bans). The pause
 * came after the rate budget had spaced the claims, so it bunched them again: two sends 0.2 s apart
 * on a 1/s line (review of 2026-12-01). Now the pause never brings a send closer than 1/rate to the
 * line's previous one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { startScheduler, type Scheduler } from '../../src/delivery/scheduler.js';
import { createUltramsgSimulator, type UltramsgSimulator } from '../../src/providers/ultramsg/index.js';
import { until } from './helpers.js';

describe('random pauses on a WhatsApp-Web line keep the line rate', () => {
  let t: TestApp;
  let sim: UltramsgSimulator;
  let scheds: Scheduler[] = [];
  before(async () => {
    t = await startTestApp();
    sim = createUltramsgSimulator({
      instances: [
        { instanceId: 'instance3001', token: 'tok-j', phone: '15550003001' },
        { instanceId: 'instance3002', token: 'tok-k', phone: '15550003002' },
      ],
      ackDelaysMs: { server: 600_000, device: 600_001, read: 600_002 },
    });
    await sim.listen();
  });
  after(async () => {
    await Promise.all(scheds.map((s) => s.stop(1000)));
    await t.close();
    await sim.close();
  });

  /** N sends queued on a new 4/s line of the instance, sent by `workers` schedulers; the gaps between their arrivals. */
  async function gapsOf(instanceId: string, token: string, workers: number): Promise<number[]> {
    const tenant = await t.tenant();
    const r = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(tenant.key),
      payload: { name: 'u', provider: 'ultramsg', credentials: { instanceId, token, baseUrl: sim.url }, rate_per_second: 4, burst: 4 } });
    assert.equal(r.statusCode, 201, r.body);
    const N = 16;
    const b = await t.app.inject({ method: 'POST', url: '/v1/messages/batch', headers: bearer(tenant.key),
      payload: { messages: Array.from({ length: N }, (_, i) => ({ channel_id: r.json().id, to: `+1415555${1000 + i}`, content: { type: 'text', text: `m${i}` } })) } });
    assert.equal(b.statusCode, 202, b.body);
    scheds = Array.from({ length: workers }, () => startScheduler(t.ctx, { leaseMs: 30_000 }));
    const sends = () => sim.server.requests(new RegExp(`/${instanceId}/messages/chat$`));
    await until(() => sends().length >= N, 45_000, 'every send', 50);
    await Promise.all(scheds.map((s) => s.stop(1000)));
    scheds = [];
    assert.equal(sends().length, N, 'each sent once');
    const times = sends().map((s) => s.at).sort((x, y) => x - y);
    return times.slice(1).map((x, i) => x - times[i]!);
  }

  it('sends on a 4/s UltraMsg line (pauses up to 1.5 s) are never closer than 1/4 s', { timeout: 60_000 }, async () => {
    const gaps = await gapsOf('instance3001', 'tok-j', 1);
    // 250 ms apart when they leave; a few ms of HTTP and timer noise on arrival.
    assert.ok(Math.min(...gaps) >= 220, `gaps ${gaps.join(' ')} ms`);
  });

  it('nor when two scheduler processes share the line (the spacing is kept in the database, not per process)', { timeout: 60_000 }, async () => {
    const gaps = await gapsOf('instance3002', 'tok-k', 2);
    assert.ok(Math.min(...gaps) >= 220, `gaps ${gaps.join(' ')} ms`);
  });
});
