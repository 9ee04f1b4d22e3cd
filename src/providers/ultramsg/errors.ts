import { ProviderError, parseRetryAfter } from '../../core/errors.js';
import { isRecord, str, type ProviderResponse } from '../http.js';

/**
 * UltraMsg reports most failures as HTTP 200 with an `error` field (integrators: "a 200 from cURL
 * does NOT mean UltraMsg accepted"), so the body is inspected before the status code. Known bodies
 * (CONTRACTS.md §3.3, fixtures `error_*.json`, `send_not_connected_response.json`):
 *   {"error":"Wrong token. Please provide token as a GET parameter."}  → unauthorized
 *   {"error":"Instance not found"} / HTTP 404                           → not_found
 *   {"error":"Your instance has been Stopped due to non-payment. …"}    → unauthorized, not retryable:
 *       the account must be paid first; retrying only burns attempts (providerCode `instance_stopped`)
 *   {"error":[{"to":"is required"},{"body":"is required"}]}             → invalid_request
 *   {"sent":"false","message":"WhatsApp not connected"}                 → session_not_ready, retryable
 */

function ultramsgError(
  kind: ProviderError['kind'],
  retryable: boolean,
  message: string,
  httpStatus: number,
  providerCode: string,
  retryAfterMs?: number,
): ProviderError {
  return new ProviderError({ kind, retryable, message: `UltraMsg: ${message}`, httpStatus, providerCode, retryAfterMs });
}

/** `[{"to":"is required"},{"body":"is required"}]` → `to is required; body is required`. */
export function describeValidation(errors: unknown[]): string {
  const parts: string[] = [];
  for (const e of errors) {
    if (isRecord(e)) for (const [field, msg] of Object.entries(e)) parts.push(`${field} ${str(msg) ?? 'is invalid'}`);
    else if (str(e)) parts.push(str(e)!);
  }
  return parts.join('; ') || 'request rejected';
}

function fromErrorString(message: string, status: number): ProviderError {
  const m = message.toLowerCase();
  if (m.includes('wrong token') || m.includes('invalid token')) return ultramsgError('unauthorized', false, message, status, 'wrong_token');
  if (m.includes('instance not found')) return ultramsgError('not_found', false, message, status, 'instance_not_found');
  if (m.includes('non-payment') || m.includes('stopped')) {
    return ultramsgError('unauthorized', false, message, status, 'instance_stopped');
  }
  if (m.includes('not connected') || m.includes('not authenticated')) {
    return ultramsgError('session_not_ready', true, message, status, 'not_connected');
  }
  return ultramsgError('invalid_request', false, message, status, 'error');
}

/** Maps an HTTP-level failure (no recognisable UltraMsg body) to a typed error. */
function fromStatus(res: ProviderResponse, now: number): ProviderError {
  const s = res.status;
  const detail = res.text.slice(0, 200) || `HTTP ${s}`;
  if (s === 429) {
    return ultramsgError('rate_limited', true, 'too many requests', s, '429', parseRetryAfter(res.headers.get('retry-after'), now));
  }
  if (s === 401 || s === 403) return ultramsgError('unauthorized', false, detail, s, String(s));
  // The PHP SDK maps 404 to "instance not found or pending please check you instance id".
  if (s === 404) return ultramsgError('not_found', false, 'instance not found', s, 'instance_not_found');
  if (s >= 500) return ultramsgError('unavailable', true, detail, s, String(s));
  if (s === 408) return ultramsgError('timeout', true, detail, s, '408');
  return ultramsgError('invalid_request', false, detail, s, String(s));
}

/**
 * Returns the typed error a response represents, or undefined when it is not an error. Used by
 * every adapter call; send additionally checks `sent`.
 */
export function ultramsgErrorFrom(res: ProviderResponse, now: number = Date.now()): ProviderError | undefined {
  const body = res.json;
  if (isRecord(body) && body.error !== undefined && body.error !== null && body.error !== '') {
    if (Array.isArray(body.error)) return ultramsgError('invalid_request', false, describeValidation(body.error), res.status, 'validation');
    const msg = str(body.error) ?? (isRecord(body.error) ? str(body.error.message) : undefined) ?? 'error';
    const known = fromErrorString(msg, res.status);
    // A 429 or 5xx with a message we do not recognise is the status's (retryable, Retry-After kept):
    // read as a permanent `invalid_request`, a passing overload failed the message for good.
    if (known.providerCode === 'error' && (res.status === 429 || res.status >= 500)) return fromStatus(res, now);
    return known;
  }
  if (res.status === 429 || res.status >= 400) return fromStatus(res, now);
  if (isRecord(body) && (body.sent === 'false' || body.sent === false)) {
    return fromErrorString(str(body.message) ?? 'message not sent', res.status);
  }
  return undefined;
}

/** Throws when the response is an error; returns the parsed JSON body otherwise. */
export function expectOk(res: ProviderResponse, now?: number): unknown {
  const err = ultramsgErrorFrom(res, now);
  if (err) throw err;
  return res.json;
}
