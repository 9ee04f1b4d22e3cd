import { storableText } from './text.js';

/**
 * Typed errors with stable codes. Domain code throws `AppError`; only the HTTP layer turns one into an
 * RFC 9457 problem document (`src/http/problem.ts`). Every code here is documented in
 * `docs/errors.md`; a test fails when one is missing there.
 */

export interface ErrorCodeInfo {
  /** HTTP status the API answers with. */
  status: number;
  /** Short, stable, human title (the problem document's `title`). */
  title: string;
}

export const ERROR_CODES = {
  // --- request shape ---
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  route_not_found: { status: 404, title: 'No such endpoint' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  // --- identity ---
  unauthenticated: { status: 401, title: 'Authentication is required' },
  invalid_credentials: { status: 401, title: 'The credentials are not valid' },
  api_key_malformed: { status: 401, title: 'The API key is malformed or its checksum is wrong' },
  api_key_revoked: { status: 401, title: 'The API key has been revoked' },
  api_key_expired: { status: 401, title: 'The API key has expired' },
  token_invalid: { status: 401, title: 'The bearer token is not valid' },
  insufficient_scope: { status: 403, title: 'The credential lacks the scope this operation needs' },
  forbidden: { status: 403, title: 'You are not allowed to do this' },
  tenant_suspended: { status: 403, title: 'The tenant is suspended' },
  csrf_failed: { status: 403, title: 'The CSRF token is missing or wrong' },
  rate_limited: { status: 429, title: 'Too many requests' },
  // --- resources ---
  not_found: { status: 404, title: 'The resource does not exist' },
  conflict: { status: 409, title: 'The resource conflicts with an existing one' },
  plan_limit_reached: { status: 422, title: 'The plan limit is reached' },
  channel_credentials_rejected: { status: 422, title: 'The provider rejected the channel credentials' },
  channel_unreachable: { status: 502, title: 'The provider could not be reached' },
  external_id_taken: { status: 409, title: 'Another channel already uses this provider line' },
  egress_denied: { status: 422, title: 'The URL is not allowed by the egress policy' },
  unsupported_content: { status: 422, title: "The channel's provider does not support this content" },
  unsupported_recipient: { status: 422, title: "The channel's provider cannot address this recipient" },
  idempotency_key_reused: { status: 409, title: 'The Idempotency-Key was used with a different request' },
  quota_exceeded: { status: 429, title: 'The message quota is used up' },
  // --- providers (delivery failures, surfaced on messages and connection tests) ---
  provider_rate_limited: { status: 429, title: 'The provider throttled the request' },
  provider_unauthorized: { status: 502, title: 'The provider refused the channel credentials' },
  provider_rejected: { status: 502, title: 'The provider rejected the request' },
  provider_unavailable: { status: 502, title: 'The provider is unavailable' },
  provider_timeout: { status: 504, title: 'The provider did not answer in time' },
  session_not_ready: { status: 409, title: 'The WhatsApp session is not connected' },
  // --- webhooks ---
  webhook_signature_invalid: { status: 401, title: 'The webhook signature is not valid' },
  webhook_unroutable: { status: 404, title: 'No channel owns this webhook' },
  // --- outbound messaging & delivery (issue 4) ---
  channel_disabled: { status: 422, title: 'The channel is disabled' },
  message_not_cancellable: { status: 409, title: 'The message is no longer queued' },
  // --- server ---
  service_unavailable: { status: 503, title: 'The service is temporarily unavailable' },
  internal_error: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra members for the problem document; must never hold secrets. */
  readonly details: Record<string, unknown> | undefined;
  /** Seconds, for 429/503 answers. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { details?: Record<string, unknown>; cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(message ?? ERROR_CODES[code].title, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = opts.details;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

export const notFound = (what: string): AppError => new AppError('not_found', `${what} not found`);

/**
 * Why a provider call failed, independent of vendor. Adapters map vendor errors to one of these in
 * their `errors.ts`; the scheduler decides retry vs fail from `retryable`.
 */
export type ProviderErrorKind =
  | 'rate_limited' // line throughput (Cloud API 130429, WAHA/UltraMsg 429)
  | 'pair_rate_limited' // too fast to one recipient (Cloud API 131056)
  | 'unauthorized' // bad / expired credentials (Cloud API 190, WAHA 401, UltraMsg wrong token)
  | 'invalid_request' // the provider refused the payload (Cloud API 100, 132001)
  | 'recipient_unavailable' // not on WhatsApp / undeliverable (131026)
  | 're_engagement_required' // outside the 24 h window (131047)
  | 'session_not_ready' // WAHA / UltraMsg line not connected
  | 'not_found' // session / instance / media missing
  | 'unavailable' // 5xx, connection refused
  | 'timeout'
  | 'unknown';

const KIND_TO_CODE: Record<ProviderErrorKind, ErrorCode> = {
  rate_limited: 'provider_rate_limited',
  pair_rate_limited: 'provider_rate_limited',
  unauthorized: 'provider_unauthorized',
  invalid_request: 'provider_rejected',
  recipient_unavailable: 'provider_rejected',
  re_engagement_required: 'provider_rejected',
  session_not_ready: 'session_not_ready',
  not_found: 'provider_rejected',
  unavailable: 'provider_unavailable',
  timeout: 'provider_timeout',
  unknown: 'provider_rejected',
};

export class ProviderError extends AppError {
  readonly kind: ProviderErrorKind;
  readonly retryable: boolean;
  /** Milliseconds the provider asked us to wait (Retry-After), if any. */
  readonly retryAfterMs: number | undefined;
  /** The vendor's own code, as a string (e.g. "131056", "401", "Wrong token"). */
  readonly providerCode: string | undefined;
  readonly httpStatus: number | undefined;

  constructor(p: {
    kind: ProviderErrorKind;
    retryable: boolean;
    message: string;
    providerCode?: string | number;
    httpStatus?: number;
    retryAfterMs?: number;
    cause?: unknown;
  }) {
    // Both carry a provider's own text (an error page, a JSON string), and end up in rows and events:
    // made storable here, once for every caller.
    const providerCode = p.providerCode === undefined ? undefined : storableText(String(p.providerCode), 200);
    super(KIND_TO_CODE[p.kind], storableText(p.message, 2000), {
      cause: p.cause,
      details: { provider_code: providerCode },
      retryAfterSeconds: p.retryAfterMs === undefined ? undefined : Math.ceil(p.retryAfterMs / 1000),
    });
    this.name = 'ProviderError';
    this.kind = p.kind;
    this.retryable = p.retryable;
    this.retryAfterMs = p.retryAfterMs;
    this.providerCode = providerCode;
    this.httpStatus = p.httpStatus;
  }
}

/** Parses an HTTP Retry-After header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
