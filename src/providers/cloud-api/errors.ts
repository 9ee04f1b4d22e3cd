import { ProviderError, parseRetryAfter, type ProviderErrorKind } from '../../core/errors.js';
import type { ProviderErrorInfo } from '../../core/canonical.js';
import { isRecord, str, type ProviderResponse } from '../http.js';

/**
 * Meta Graph error codes → what the scheduler should do. Meta says to build logic on `code`
 * (+ `error_data.details`), never on titles. Sources: CONTRACTS.md §1.3; retryable set (4, 80007,
 * 130429, 131056, 131016, 133016, 613) is what several OSS clients agree on.
 */
interface CodeRule {
  kind: ProviderErrorKind;
  retryable: boolean;
}

const RULES = new Map<number, CodeRule>([
  // Throughput / API-call rate limits: wait and retry.
  [130429, { kind: 'rate_limited', retryable: true }],
  [4, { kind: 'rate_limited', retryable: true }],
  [80007, { kind: 'rate_limited', retryable: true }],
  [613, { kind: 'rate_limited', retryable: true }],
  [133016, { kind: 'rate_limited', retryable: true }],
  [131056, { kind: 'pair_rate_limited', retryable: true }],
  // Meta-side trouble.
  [131016, { kind: 'unavailable', retryable: true }], // service unavailable
  [131000, { kind: 'unavailable', retryable: true }], // "something went wrong"
  [2, { kind: 'unavailable', retryable: true }], // temporary service outage
  [1, { kind: 'unavailable', retryable: true }], // unknown API error, usually transient
  // Never retry: the same request will fail the same way.
  [131047, { kind: 're_engagement_required', retryable: false }],
  [131026, { kind: 'recipient_unavailable', retryable: false }],
  [131049, { kind: 'recipient_unavailable', retryable: false }], // per-user marketing limit
  [131050, { kind: 'recipient_unavailable', retryable: false }], // user stopped marketing
  [131048, { kind: 'rate_limited', retryable: false }], // spam rate limit: retrying makes it worse
  [368, { kind: 'unknown', retryable: false }], // temporarily blocked for policy violations
  [190, { kind: 'unauthorized', retryable: false }],
  [0, { kind: 'unauthorized', retryable: false }],
  [10, { kind: 'unauthorized', retryable: false }], // permission denied
  [100, { kind: 'invalid_request', retryable: false }],
  [131008, { kind: 'invalid_request', retryable: false }], // required parameter missing
  [131009, { kind: 'invalid_request', retryable: false }], // parameter value not valid
  [131021, { kind: 'invalid_request', retryable: false }], // recipient is the sender
  [131051, { kind: 'invalid_request', retryable: false }], // unsupported message type
  [131052, { kind: 'invalid_request', retryable: false }], // media download error
  [131053, { kind: 'invalid_request', retryable: false }], // media upload error
  [132000, { kind: 'invalid_request', retryable: false }],
  [132001, { kind: 'invalid_request', retryable: false }],
]);

/**
 * Classifies a Graph error code, also used for the `errors[].code` of async `failed` statuses.
 * `httpStatus` only decides codes this table does not know.
 */
export function classifyCloudApiCode(code: number | undefined, httpStatus?: number): CodeRule {
  if (code !== undefined) {
    const rule = RULES.get(code);
    if (rule) return rule;
    if (code >= 200 && code <= 299) return { kind: 'unauthorized', retryable: false }; // permission family
    if (code >= 132000 && code < 133000) return { kind: 'invalid_request', retryable: false }; // templates
  }
  if (httpStatus !== undefined) {
    if (httpStatus === 429) return { kind: 'rate_limited', retryable: true };
    if (httpStatus >= 500) return { kind: 'unavailable', retryable: true };
    if (httpStatus === 401 || httpStatus === 403) return { kind: 'unauthorized', retryable: false };
    if (httpStatus === 404) return { kind: 'not_found', retryable: false };
  }
  return { kind: 'unknown', retryable: false };
}

export interface GraphErrorBody {
  code: number | undefined;
  subcode: number | undefined;
  message: string;
  details: string | undefined;
  transient: boolean;
  fbtraceId: string | undefined;
}

/** Reads Meta's `{"error":{…}}` envelope; undefined when the body is something else (HTML, empty). */
export function readGraphError(json: unknown): GraphErrorBody | undefined {
  if (!isRecord(json) || !isRecord(json.error)) return undefined;
  const e = json.error;
  const code =
    typeof e.code === 'number'
      ? e.code
      : typeof e.code === 'string' && /^\d+$/.test(e.code)
        ? Number(e.code)
        : undefined;
  const subcode = typeof e.error_subcode === 'number' ? e.error_subcode : undefined;
  const details = isRecord(e.error_data) ? str(e.error_data.details) : undefined;
  return {
    code,
    subcode,
    message: str(e.message) ?? str(e.error_user_msg) ?? 'Graph API error',
    details,
    transient: e.is_transient === true,
    fbtraceId: str(e.fbtrace_id),
  };
}

/** A non-2xx Graph answer → typed `ProviderError`, honouring `Retry-After`. */
export function cloudApiError(res: ProviderResponse, now: number, what = 'Cloud API request'): ProviderError {
  const g = readGraphError(res.json);
  let rule = classifyCloudApiCode(g?.code, res.status);
  // "Unsupported get/post request. Object with ID … does not exist" (code 100, subcode 33).
  if (g?.code === 100 && g.subcode === 33) rule = { kind: 'not_found', retryable: false };
  // Graph marks some otherwise-unknown errors transient; trust it.
  if (g?.transient && rule.kind === 'unknown') rule = { kind: 'unavailable', retryable: true };
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), now);
  const detail = g ? `${g.message}${g.details ? ` (${g.details})` : ''}` : `HTTP ${res.status}`;
  return new ProviderError({
    kind: rule.kind,
    retryable: rule.retryable,
    message: `${what} failed: ${detail}`,
    providerCode: g?.code ?? res.status,
    httpStatus: res.status,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** `errors[]` items of webhooks (statuses, messages, value.errors) → canonical error info. */
export function toErrorInfo(e: unknown): ProviderErrorInfo | undefined {
  if (!isRecord(e)) return undefined;
  const code = str(e.code);
  if (code === undefined) return undefined;
  // Legacy payloads put `details` on the error itself (webhook_unknown_type_legacy, netflie tests).
  const details = (isRecord(e.error_data) ? str(e.error_data.details) : undefined) ?? str(e.details);
  const title = str(e.title) ?? str(e.message) ?? `error ${code}`;
  const detail = details ?? (str(e.message) !== title ? str(e.message) : undefined);
  return detail === undefined ? { code, title } : { code, title, detail };
}
