/**
 * Retry schedule after a failed attempt (Standard Webhooks / Svix practice): 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 10 h → the last try ~27.6 h after the first. Jitter of 0 to +20 % a step spreads
 * a recovering endpoint's backlog; only upwards, so the span is never shorter than the schedule
 * (±20 % made it 22–33 h, under 27 h in a third of cases). A Retry-After longer than the step is
 * honoured (up to 10 h).
 */
export const RETRY_DELAYS_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;
/** An endpoint failing without a single success for this long is disabled. */
export const DISABLE_AFTER_MS = 5 * 24 * 3600 * 1000;
/**
 * Failed attempts further apart than this are two runs of failures, not one: twice the schedule's
 * longest wait (10 h + 20 %), so a run being retried is never split.
 */
export const RUN_GAP_MS = 24 * 3600 * 1000;

/** Delay before the next attempt after `attempts` failed ones, or null when retries are used up. */
export function nextDelayMs(attempts: number, retryAfterMs: number | undefined, random: () => number = Math.random): number | null {
  const base = RETRY_DELAYS_MS[attempts - 1];
  if (base === undefined) return null;
  const jittered = Math.round(base * (1 + 0.2 * random()));
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, 36_000_000));
}
