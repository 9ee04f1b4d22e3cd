import type { AppContext } from '../app/context.js';
import { AppError } from '../core/errors.js';
import type { TenantId } from '../db/db.js';
import { loadLimits } from '../tenants/limits.js';

/**
 * Fixed-window counts. With `REDIS_URL` a window's count is shared by every process
 * (`ctx.sharedCounters`, DESIGN §2), so a limit holds once across the deployment, not once per node;
 * without it, or while Redis does not answer, each process counts on its own (a Redis outage never
 * fails a request).
 */
const MAX_LOCAL_KEYS = 200_000;

class WindowCounter {
  /** This process's counts of the current window; the next window starts an empty map. */
  private local = { window: -1, counts: new Map<string, number>() };
  constructor(private readonly prefix: string, private readonly windowMs: number) {}

  /** Adds one to `key`'s current window; returns the count and the seconds until the window ends. */
  async hit(ctx: AppContext, key: string): Promise<{ count: number; retryAfterSeconds: number }> {
    const now = ctx.clock.now().getTime();
    const window = Math.floor(now / this.windowMs);
    const count = (await this.shared(ctx, key, window)) ?? this.hitLocal(key, window);
    return { count, retryAfterSeconds: Math.ceil(((window + 1) * this.windowMs - now) / 1000) };
  }

  /** The deployment-wide count, or undefined without shared counters or while they fail. */
  private async shared(ctx: AppContext, key: string, window: number): Promise<number | undefined> {
    if (!ctx.sharedCounters) return undefined;
    try {
      // The key outlives its window by a second, so a clock a little behind still finds it.
      return await ctx.sharedCounters.incr(`sb:${this.prefix}:${key}:${window}`, this.windowMs + 1_000);
    } catch {
      return undefined; // logged by the counters' connection, once a minute
    }
  }

  /**
   * Past windows go whole when a new one starts (no scan per request, however many keys — one a
   * client address, for logins). Past MAX_LOCAL_KEYS in one window (a spray of addresses or e-mails)
   * the lower half of the counts goes, not all of them: clearing all let a spray of 200,000 junk
   * e-mails reset the count of the account under attack (review of 2026-12-01), whose count is among
   * the highest. One sort per MAX_LOCAL_KEYS / 2 new keys.
   */
  private hitLocal(key: string, window: number): number {
    if (this.local.window !== window) this.local = { window, counts: new Map() };
    else if (this.local.counts.size >= MAX_LOCAL_KEYS && !this.local.counts.has(key)) {
      const kept = [...this.local.counts].sort((x, y) => y[1] - x[1]).slice(0, MAX_LOCAL_KEYS / 2);
      this.local.counts = new Map(kept);
    }
    const count = (this.local.counts.get(key) ?? 0) + 1;
    this.local.counts.set(key, count);
    return count;
  }
}

/**
 * Per-tenant API request limit (plan `api_requests_per_minute`), fixed one-minute windows, shared
 * across processes with Redis (WindowCounter). Limits are cached for 30 s so a request costs no
 * extra query.
 */
export class ApiRateLimiter {
  private readonly counter = new WindowCounter('api', 60_000);
  private readonly limits = new Map<string, { limit: number | null; until: number }>();

  async check(ctx: AppContext, tenantId: TenantId): Promise<void> {
    const now = ctx.clock.now().getTime();
    let cached = this.limits.get(tenantId);
    if (!cached || cached.until < now) {
      const l = await loadLimits(ctx, tenantId);
      cached = { limit: l.api_requests_per_minute, until: now + 30_000 };
      this.limits.set(tenantId, cached);
    }
    if (cached.limit === null) return;
    const { count, retryAfterSeconds } = await this.counter.hit(ctx, tenantId);
    if (count > cached.limit) {
      throw new AppError('rate_limited', `the plan allows ${cached.limit} API requests a minute`, { retryAfterSeconds });
    }
  }
}

/**
 * Sign-in attempts (decision 055): at most LOGIN_PER_ACCOUNT a quarter hour for one e-mail address and
 * LOGIN_PER_ADDRESS from one client address, counted before the password is checked, so guessing is
 * slow and an attacker cannot make the server hash (argon2id, ~19 MiB each) without bound. Over it:
 * 429 `rate_limited` with Retry-After, whatever the password.
 */
export const LOGIN_PER_ACCOUNT = 10;
export const LOGIN_PER_ADDRESS = 100;
export class LoginLimiter {
  private readonly accounts = new WindowCounter('login:account', 15 * 60_000);
  private readonly addresses = new WindowCounter('login:ip', 15 * 60_000);

  async check(ctx: AppContext, email: string, ip: string): Promise<void> {
    const [account, address] = await Promise.all([this.accounts.hit(ctx, email.toLowerCase()), this.addresses.hit(ctx, ip)]);
    const over = account.count > LOGIN_PER_ACCOUNT ? account : address.count > LOGIN_PER_ADDRESS ? address : null;
    if (over) throw new AppError('rate_limited', 'too many sign-in attempts; try again later', { retryAfterSeconds: over.retryAfterSeconds });
  }
}
