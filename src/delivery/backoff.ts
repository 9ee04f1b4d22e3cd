import { ProviderError } from '../core/errors.js';
import { storableText } from '../core/text.js';

export interface RetryPolicy {
  /** First retry after about this long; doubles per attempt. Default 1 s. */
  baseDelayMs: number;
  /** Ceiling of one wait. Default 5 min: a provider down for an hour gets ~12 probes, not a hot loop. */
  maxDelayMs: number;
  /** A message older than this is failed with reason `expired`. Default 24 h (the WhatsApp window). */
  maxAgeMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseDelayMs: 1000, maxDelayMs: 5 * 60_000, maxAgeMs: 24 * 3600_000 };

export type Outcome =
  | { retry: true; delayMs: number; code: string; detail: string; pauseChannelMs?: number }
  | { retry: false; code: string; detail: string };

/**
 * What to do after a failed send. Retryable vs permanent comes from the provider's own error
 * mapping (`ProviderError.retryable`, e.g. Cloud API 130429/131056/5xx/timeouts retry, 131047/131026/
 * bad credentials fail fast). Delay: exponential with "equal jitter" (half fixed, half random, so
 * many messages failing together spread out but never retry sooner than half the step), never
 * less than the provider's Retry-After. A line-level throttle (130429, HTTP 429) also pauses the
 * whole channel's bucket; a pair-rate error (131056) delays only this recipient's lane.
 */
export function decide(err: unknown, attempts: number, ageMs: number, policy: RetryPolicy, random: () => number = Math.random): Outcome {
  const pe = err instanceof ProviderError ? err : undefined;
  const code = pe ? (pe.providerCode ? `${pe.code}:${pe.providerCode}` : pe.code) : 'internal_error';
  const detail = storableText(err instanceof Error ? err.message : String(err), 500);
  if (pe && !pe.retryable) return { retry: false, code, detail };
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  const delayMs = Math.max(pe?.retryAfterMs ?? 0, Math.round(step / 2 + (random() * step) / 2));
  if (ageMs + delayMs > policy.maxAgeMs) return { retry: false, code: 'expired', detail: `gave up after ${attempts} attempts over the maximum age; last error: ${detail}` };
  const out: Outcome = { retry: true, delayMs, code, detail };
  if (pe?.kind === 'rate_limited') out.pauseChannelMs = Math.max(pe.retryAfterMs ?? 0, 1000);
  return out;
}
