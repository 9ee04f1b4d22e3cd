import { ProviderError, parseRetryAfter, type ProviderErrorKind } from '../../core/errors.js';
import { isRecord, str, type ProviderResponse } from '../http.js';

/**
 * Sandbox errors are `{"error":{"code","message","field"?}}` with a meaningful HTTP status, so the
 * mapping is the textbook one: 400 invalid_request, 401 unauthorized, 404 not_found, 429
 * rate_limited (Retry-After honoured), 5xx unavailable. Only throttling and outages are retryable.
 */
const BY_STATUS: [number, ProviderErrorKind, boolean][] = [
  [400, 'invalid_request', false],
  [401, 'unauthorized', false],
  [403, 'unauthorized', false],
  [404, 'not_found', false],
  [409, 'invalid_request', false],
  [422, 'invalid_request', false],
  [429, 'rate_limited', true],
];

export function sandboxErrorFrom(res: ProviderResponse, now: number): ProviderError | undefined {
  if (res.status >= 200 && res.status < 300) return undefined;
  const err = isRecord(res.json) && isRecord(res.json.error) ? res.json.error : undefined;
  const code = str(err?.code) ?? String(res.status);
  const message = `Sandbox: ${str(err?.message) ?? (res.text.slice(0, 200) || `HTTP ${res.status}`)}`;
  const known = BY_STATUS.find(([s]) => s === res.status);
  const [kind, retryable]: [ProviderErrorKind, boolean] = known ? [known[1], known[2]] : res.status >= 500 ? ['unavailable', true] : ['unknown', false];
  return new ProviderError({
    kind,
    retryable,
    message,
    providerCode: code,
    httpStatus: res.status,
    retryAfterMs: res.status === 429 ? parseRetryAfter(res.headers.get('retry-after'), now) : undefined,
  });
}
