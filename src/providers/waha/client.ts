import { providerRequest, type ProviderResponse } from '../http.js';
import type { ChannelRef, ProviderDeps } from '../types.js';
import type { WahaCredentials } from './credentials.js';
import { normaliseBaseUrl } from './credentials.js';
import { wahaError } from './errors.js';

/**
 * One authenticated call to a WAHA server: `X-Api-Key` on every request, JSON in and out, every
 * non-2xx answer classified by `errors.ts`. Transport failures (refused, timeout) are already typed
 * by `providerRequest`.
 */
export interface WahaCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the base URL, already encoded, e.g. `/api/sessions/default`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  accept?: string;
  /** Statuses to return to the caller instead of throwing (e.g. 404 on an idempotent delete). */
  allow?: number[];
  /** Longer than the default for file downloads. */
  timeoutMs?: number;
}

export function wahaUrl(creds: WahaCredentials, path: string, query?: WahaCall['query']): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) qs.set(k, String(v));
  const q = qs.toString();
  return `${normaliseBaseUrl(creds.baseUrl)}${path}${q ? `?${q}` : ''}`;
}

export async function wahaCall(deps: ProviderDeps, ch: ChannelRef<WahaCredentials>, call: WahaCall): Promise<ProviderResponse> {
  const headers: Record<string, string> = { 'x-api-key': ch.credentials.apiKey, accept: call.accept ?? 'application/json' };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  const res = await providerRequest(deps, {
    method: call.method,
    url: wahaUrl(ch.credentials, call.path, call.query),
    headers,
    ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
    ...(call.timeoutMs !== undefined ? { timeoutMs: call.timeoutMs } : {}),
  });
  if ((res.status >= 200 && res.status < 300) || call.allow?.includes(res.status)) return res;
  const err = wahaError({ status: res.status, json: res.json, text: res.text, retryAfter: res.headers.get('retry-after'), now: deps.clock.now().getTime() });
  deps.logger.debug({ channelId: ch.channelId, path: call.path, status: res.status, kind: err.kind }, 'waha call failed');
  throw err;
}

/** Session names are validated by the credentials schema, but encode anyway: they are path segments. */
export const seg = (s: string): string => encodeURIComponent(s);
