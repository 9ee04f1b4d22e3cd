/** Shared by the WAHA tests only (never imported by production code). */
import { silentLogger, systemClock } from '../../core/runtime.js';
import { SimServer, type SimRequest } from '../simulator-kit.js';
import type { ChannelRef, ProviderDeps, RawWebhook } from '../types.js';
import { createWahaAdapter, type WahaAdapter } from './adapter.js';
import type { WahaCredentials } from './credentials.js';
import { createWahaSimulator, type WahaSimulator, type WahaSimulatorOptions } from './simulator.js';
import { parseWahaWebhook } from './webhook.js';
import type { InboundEvent } from '../../core/canonical.js';

export const API_KEY = 'waha-test-key-0123456789';
export const HMAC_KEY = 'hmac-test-key-0123456789abcdef';
export const SESSION = 'line_one';

export function deps(timeoutMs = 2000): ProviderDeps {
  return { fetch, logger: silentLogger, clock: systemClock, timeoutMs };
}

export function channel(baseUrl: string, creds: Partial<WahaCredentials> = {}): ChannelRef<WahaCredentials> {
  return {
    tenantId: 'ten_test',
    channelId: 'chn_test',
    credentials: { baseUrl, apiKey: API_KEY, sessionName: SESSION, webhookHmacKey: HMAC_KEY, ...creds },
  };
}

export function raw(body: string | Buffer | object, headers: Record<string, string> = {}): RawWebhook {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return { headers: { 'content-type': 'application/json', ...headers }, body: b, query: {} };
}

/** Parses and insists on success, so assertions read as "the events are …". */
export function events(body: string | Buffer | object): InboundEvent[] {
  const r = parseWahaWebhook(raw(body));
  if (!r.ok) throw new Error(`parse failed: ${r.reason} ${r.detail}`);
  return r.events;
}

/** Stands in for Switchboard's ingress: records what WAHA posts to `/webhooks/waha/:token`. */
export class Receiver {
  readonly server = new SimServer([{ method: 'POST', path: '/webhooks/waha/:token', handler: () => ({ status: 200, json: { ok: true } }) }]);
  url = '';
  async listen(): Promise<string> {
    this.url = `${await this.server.listen()}/webhooks/waha/tok_test`;
    return this.url;
  }
  get hooks(): SimRequest[] {
    return this.server.requests('/webhooks/waha/');
  }
  /** Canonical events of every received webhook, in arrival order. */
  events(): InboundEvent[] {
    return this.hooks.flatMap((r) => {
      const p = parseWahaWebhook({ headers: r.headers, body: r.body, query: r.query });
      return p.ok ? p.events : [];
    });
  }
  bodies(event?: string): Record<string, unknown>[] {
    return this.hooks
      .map((r) => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>)
      .filter((b) => event === undefined || b.event === event);
  }
}

export interface World {
  sim: WahaSimulator;
  receiver: Receiver;
  adapter: WahaAdapter;
  ch: ChannelRef<WahaCredentials>;
  close(): Promise<void>;
}

/** Simulator + webhook receiver + adapter; `paired` runs create → SCAN_QR_CODE → pair → WORKING. */
export async function world(opts: Partial<WahaSimulatorOptions> & { paired?: boolean; timeoutMs?: number; sessionName?: string } = {}): Promise<World> {
  const sim = createWahaSimulator({ apiKey: API_KEY, ...opts });
  const receiver = new Receiver();
  const [base] = await Promise.all([sim.listen(), receiver.listen()]);
  const adapter = createWahaAdapter(deps(opts.timeoutMs ?? 2000));
  const ch = channel(base, opts.sessionName ? { sessionName: opts.sessionName } : {});
  if (opts.paired !== false) {
    await adapter.session.create(ch, { webhookUrl: receiver.url });
    await sim.idle();
    sim.pair(ch.credentials.sessionName, { id: '31612345678@c.us', pushName: 'Line One' });
    await sim.idle();
  }
  return {
    sim,
    receiver,
    adapter,
    ch,
    close: async () => {
      await sim.close();
      await receiver.server.close();
    },
  };
}
