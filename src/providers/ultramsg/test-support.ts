/** Shared by the UltraMsg tests only (not imported by production code). */
import { silentLogger, systemClock } from '../../core/runtime.js';
import type { ProviderResponse } from '../http.js';
import type { ChannelRef, ProviderDeps, RawWebhook } from '../types.js';
import type { UltramsgCredentials } from './credentials.js';

export const INSTANCE = 'instance1150';
export const TOKEN = 'tok_sim_1150';

export function deps(timeoutMs = 2000): ProviderDeps {
  return { fetch, logger: silentLogger, clock: systemClock, timeoutMs };
}

export function channel(baseUrl: string, creds: Partial<UltramsgCredentials> = {}): ChannelRef<UltramsgCredentials> {
  return { tenantId: 'ten_test', channelId: 'chn_test', credentials: { instanceId: INSTANCE, token: TOKEN, baseUrl, ...creds } };
}

export function raw(body: string | Buffer | object): RawWebhook {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return { headers: { 'content-type': 'application/json' }, body: b, query: {} };
}

export function response(status: number, body: unknown, headers: Record<string, string> = {}): ProviderResponse {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers: new Headers(headers), bytes: Buffer.from(text), text, json };
}
