import { AppError, ProviderError } from '../core/errors.js';
import type { ProviderDeps } from './types.js';

export interface ProviderResponse {
  status: number;
  headers: { get(name: string): string | null };
  /** Raw body bytes (binary downloads, QR PNGs). */
  bytes: Buffer;
  /** Body as text (decoded on first read). */
  readonly text: string;
  /** Parsed JSON, or undefined when the body is not JSON (parsed on first read). */
  readonly json: unknown;
}

const DEFAULT_TIMEOUT_MS = 15_000;
/** A media file (up to 100 MB at Meta) needs longer than an API answer: 100 MB in 2 min is ~7 Mbit/s. */
export const MEDIA_TIMEOUT_MS = 120_000;

/**
 * One HTTP call to a provider with a timeout. Transport failures become typed, retryable
 * `ProviderError`s (`timeout`, `unavailable`); HTTP error statuses are returned for the provider's
 * own `errors.ts` to classify, because only it knows what a vendor's 400 means. Goes through
 * `deps.request` (node:http, src/core/http-transport.ts) when the process has one, else `fetch`.
 */
export async function providerRequest(
  deps: ProviderDeps,
  req: { method: string; url: string; headers?: Record<string, string>; body?: string | Buffer | FormData; timeoutMs?: number },
): Promise<ProviderResponse> {
  const timeoutMs = req.timeoutMs ?? deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let status: number;
  let headers: ProviderResponse['headers'];
  let bytes: Buffer;
  try {
    if (deps.request && !(req.body instanceof FormData)) {
      const res = await deps.request({ method: req.method, url: req.url, headers: req.headers, body: req.body, timeoutMs });
      // Past the transport's body cap (128 MiB, above any media a provider serves): a cut answer
      // would parse as garbage or store half a file, and asking again gets the same answer.
      if (res.truncated) throw new ProviderError({ kind: 'unavailable', retryable: false, message: `answer larger than ${res.bytes.length} bytes`, httpStatus: res.status });
      ({ status, headers, bytes } = res);
    } else {
      const res = await deps.fetch(req.url, { method: req.method, headers: req.headers, body: req.body as RequestInit['body'], signal: AbortSignal.timeout(timeoutMs) });
      ({ status, headers } = res);
      try {
        bytes = Buffer.from(await res.arrayBuffer());
      } catch (err) {
        throw new ProviderError({ kind: 'unavailable', retryable: true, message: 'connection dropped mid-answer', cause: err });
      }
    }
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    // The process's egress policy refused the address (src/core/http-transport.ts): retrying the
    // same address cannot help.
    if (err instanceof AppError && err.code === 'egress_denied') {
      throw new ProviderError({ kind: 'unavailable', retryable: false, message: err.message, cause: err });
    }
    const name = (err as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new ProviderError({ kind: 'timeout', retryable: true, message: `no answer within ${timeoutMs} ms`, cause: err });
    }
    throw new ProviderError({ kind: 'unavailable', retryable: true, message: 'provider unreachable', cause: err });
  }
  // Decoded only when read: a media download (up to 100 MB) read as UTF-8 text held the event loop
  // for seconds and the heap for twice its size (review of 2026-12-01), and nobody reads it.
  let text: string | undefined;
  let json: unknown;
  let parsed = false;
  const decoded = () => (text ??= bytes.toString('utf8'));
  const res: ProviderResponse = {
    status,
    headers,
    bytes,
    get text() {
      return decoded();
    },
    get json() {
      if (!parsed) {
        parsed = true;
        json = parseJsonText(decoded());
      }
      return json;
    },
  };
  return res;
}

function parseJsonText(text: string): unknown {
  if (text.length === 0 || !/^\s*[[{"]|^\s*(null|true|false|-?\d)/.test(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Narrowing helpers for `unknown` provider JSON. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `map[key]` for a key that comes from a provider: only the map's own entries, so `__proto__`,
 * `constructor` or `toString` in a payload never read a property every object inherits.
 */
export function lookup<V>(map: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}
