/** Shared by the sandbox tests only (not imported by production code). */
import { silentLogger, systemClock } from '../../core/runtime.js';
import { SimServer, type SimRequest } from '../simulator-kit.js';
import type { ChannelRef, ProviderDeps, RawWebhook } from '../types.js';
import type { SandboxCredentials } from './credentials.js';
import type { WireWebhook } from './protocol.js';

export const SECRET = 'sandbox-secret-0123456789';

export function deps(timeoutMs = 2000): ProviderDeps {
  return { fetch, logger: silentLogger, clock: systemClock, timeoutMs };
}

export function channel(baseUrl: string, lineId = 'sandbox-test01', secret = SECRET): ChannelRef<SandboxCredentials> {
  return { tenantId: 'ten_test', channelId: 'chn_test', credentials: { baseUrl, lineId, secret } };
}

export function rawOf(req: Pick<SimRequest, 'headers' | 'body' | 'query'>): RawWebhook {
  return { headers: req.headers, body: req.body, query: req.query };
}

/** Switchboard's webhook ingress, played by a plain server that answers 200 (or what a test says). */
export async function startReceiver(): Promise<SimServer> {
  const r = new SimServer([{ method: 'POST', path: '/webhooks/sandbox/:token', handler: () => ({ status: 200, json: { ok: true } }) }]);
  await r.listen();
  return r;
}

export const TS = '2026-03-01T10:00:00.000Z';

/** A realistic sandbox webhook body: one inbound message and two statuses. */
export function sample(): WireWebhook {
  return {
    lineId: 'sandbox-abc123',
    events: [
      { id: 'sbe_1', type: 'message', timestamp: TS, message: { id: 'sbm_in1', from: '+4915112345678', to: '+15551234567', profileName: 'Jonas', replyTo: 'sbm_out0', content: { type: 'text', text: 'Hallo' } } },
      { id: 'sbe_2', type: 'status', timestamp: TS, status: { messageId: 'sbm_out1', clientRef: 'msg_01', recipient: '+14155552671', status: 'delivered' } },
      { id: 'sbe_3', type: 'status', timestamp: TS, status: { messageId: 'sbm_out2', recipient: '+15550000000', status: 'failed', error: { code: 'recipient_unavailable', title: 'The recipient is not on WhatsApp' } } },
    ],
  };
}

