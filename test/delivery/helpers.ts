/** Shared setup for the delivery tests (not a test file itself). */
import { createCloudApiSimulator, type CloudApiSimulator, type CloudApiSimOptions } from '../../src/providers/cloud-api/index.js';
import { bearer, startTestApp, type TestApp } from '../support/app.js';

export interface Setup {
  /** The simulator has 3 spare lines (indexes n, n+1, n+2) for other tenants' channels. */
  t: TestApp;
  sim: CloudApiSimulator;
  tenant: { id: string; key: string };
  channels: string[];
  close(): Promise<void>;
}

/** Phone number ids for `n` simulated Cloud API lines. */
export const phoneIds = (n: number) => Array.from({ length: n }, (_, i) => String(100_000_000_000_000 + i));

export async function setup(opts: { channels?: number; sim?: CloudApiSimOptions; plan?: string; rate?: number } = {}): Promise<Setup> {
  const n = opts.channels ?? 1;
  const sim = createCloudApiSimulator({ phones: phoneIds(n + 3).map((phoneNumberId) => ({ phoneNumberId })), ...opts.sim });
  await sim.listen();
  const t = await startTestApp();
  const tenant = await t.tenant(undefined, opts.plan ?? 'unlimited');
  const channels: string[] = [];
  for (let i = 0; i < n; i++) channels.push(await addChannel(t, tenant.key, sim, i, opts.rate));
  return {
    t, sim, tenant, channels,
    async close() {
      await t.close();
      await sim.close();
    },
  };
}

export async function addChannel(t: TestApp, key: string, sim: CloudApiSimulator, i: number, rate?: number, dailyLimit?: number): Promise<string> {
  const r = await t.app.inject({
    method: 'POST', url: '/v1/channels', headers: bearer(key),
    payload: { name: `line ${i}`, provider: 'cloud-api', credentials: sim.credentials(i), ...(rate ? { rate_per_second: rate, burst: rate } : {}), ...(dailyLimit ? { daily_limit: dailyLimit } : {}) },
  });
  if (r.statusCode !== 201) throw new Error(`channel create failed: ${r.body}`);
  return r.json().id as string;
}

export const send = (t: TestApp, key: string, payload: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: '/v1/messages', headers: { ...bearer(key), ...headers }, payload: payload as Record<string, unknown> });

export const text = (channel_id: string, to: string, body = 'hello') => ({ channel_id, to, content: { type: 'text', text: body } });

export async function until(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
