import { ProviderError, parseRetryAfter } from '../../core/errors.js';
import { isRecord, str } from '../http.js';

/**
 * WAHA error bodies → typed `ProviderError`. WAHA is a NestJS app, so errors come in three shapes:
 *  - NestJS HttpException: `{statusCode, message: string | string[], error}` (400 validation, 404, 422);
 *  - the session-status guard, an object passed straight through with no `statusCode`:
 *    `{error, session, status, expected: ["WORKING"]}` (HTTP 422);
 *  - AllExceptionsFilter for unexpected errors: `{statusCode: 500, timestamp, exception: {message, name}, request, version}`.
 * The 401 of the API-key guard is `{"message":"Unauthorized","statusCode":401}`.
 */

export interface WahaErrorInput {
  status: number;
  json: unknown;
  text: string;
  /** The `Retry-After` header, if any. */
  retryAfter?: string | null;
  /** ms since epoch, for HTTP-date Retry-After values. */
  now?: number;
}

/** Human text out of any of WAHA's error shapes, bounded so a huge body cannot flood the logs. */
function messageOf(json: unknown, text: string): string {
  let m: string | undefined;
  if (isRecord(json)) {
    const ex = json.exception;
    if (isRecord(ex) && typeof ex.message === 'string') m = ex.message;
    else if (Array.isArray(json.message)) m = json.message.filter((x) => typeof x === 'string').join('; ');
    else if (typeof json.message === 'string') m = json.message;
    else if (typeof json.error === 'string') m = json.error;
    else if (isRecord(json.error) && typeof json.error.message === 'string') m = json.error.message;
  }
  m ??= text.trim();
  return (m || 'no error body').slice(0, 300);
}

export function wahaError(input: WahaErrorInput): ProviderError {
  const { status, json, text } = input;
  const message = messageOf(json, text);
  const body = isRecord(json) ? json : {};

  if (status === 401 || status === 403) {
    return new ProviderError({ kind: 'unauthorized', retryable: false, message: `WAHA refused the API key: ${message}`, httpStatus: status, providerCode: status });
  }
  if (status === 422 && Array.isArray(body.expected)) {
    // The session is not WORKING (or not SCAN_QR_CODE for a QR). Retryable: WAHA sessions come back
    // by themselves after STARTING, and the scheduler's max age bounds how long we keep trying.
    const current = str(body.status) ?? 'unknown';
    const expected = body.expected.filter((x): x is string => typeof x === 'string').join(', ');
    return new ProviderError({
      kind: 'session_not_ready',
      retryable: true,
      message: `WAHA session ${str(body.session) ?? ''} is ${current}, expected ${expected}`.replace(/\s+/g, ' '),
      httpStatus: status,
      providerCode: current,
    });
  }
  if (status === 404) {
    const code = /session/i.test(message) ? 'session_not_found' : isRecord(body.error) ? (str(body.error.key) ?? '404') : '404';
    return new ProviderError({ kind: 'not_found', retryable: false, message: `WAHA: ${message}`, httpStatus: status, providerCode: code });
  }
  if (status === 429) {
    return new ProviderError({
      kind: 'rate_limited',
      retryable: true,
      message: `WAHA throttled the request: ${message}`,
      httpStatus: status,
      providerCode: 429,
      retryAfterMs: parseRetryAfter(input.retryAfter, input.now),
    });
  }
  if (status === 408) {
    return new ProviderError({ kind: 'timeout', retryable: true, message: `WAHA timed out: ${message}`, httpStatus: status, providerCode: 408 });
  }
  if (status >= 500) {
    // Unexpected exceptions (engine crashes, WhatsApp-side errors such as "No sessions") are mostly
    // transient; a permanent one is bounded by the scheduler's maximum age.
    const ex = isRecord(body.exception) ? body.exception : undefined;
    return new ProviderError({
      kind: 'unavailable',
      retryable: true,
      message: `WAHA failed (${status}): ${message}`,
      httpStatus: status,
      providerCode: (ex && str(ex.name)) ?? status,
      retryAfterMs: parseRetryAfter(input.retryAfter, input.now),
    });
  }
  // 400 validation, 422 "already exists", 413, …: the request itself is wrong; retrying cannot help.
  return new ProviderError({ kind: 'invalid_request', retryable: false, message: `WAHA rejected the request (${status}): ${message}`, httpStatus: status, providerCode: status });
}
