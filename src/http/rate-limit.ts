import type { AppContext } from '../app/context.js';
import { AppError } from '../core/errors.js';
import type { TenantId } from '../db/db.js';
import { loadLimits } from '../tenants/limits.js';

const WINDOW_MS = 60_000;

/**
 * Per-tenant API request limit (plan `api_requests_per_minute`), fixed one-minute windows.
 * With `REDIS_URL` the window's count is shared by every process (`ctx.sharedCounters`, DESIGN §2),
 * so a tenant gets its limit once across the deployment, not once per node; without it, or while
 * Redis does not answer, each process counts on its own (a Redis outage never fails a request).
 * Limits are cached for 30 s so a request costs no extra query.
 */
export class ApiRateLimiter {
  private readonly windows = new Map<string, { window: number; count: number }>();
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
    const window = Math.floor(now / WINDOW_MS);
    const count = (await this.shared(ctx, tenantId, window)) ?? this.local(tenantId, window);
    if (count > cached.limit) {
      const retry = Math.ceil(((window + 1) * WINDOW_MS - now) / 1000);
      throw new AppError('rate_limited', `the plan allows ${cached.limit} API requests a minute`, { retryAfterSeconds: retry });
    }
  }

  /** The deployment-wide count, or undefined without shared counters or while they fail. */
  private async shared(ctx: AppContext, tenantId: string, window: number): Promise<number | undefined> {
    if (!ctx.sharedCounters) return undefined;
    try {
      // The key outlives its window by a second, so a clock a little behind still finds it.
      return await ctx.sharedCounters.incr(`sb:api:${tenantId}:${window}`, WINDOW_MS + 1_000);
    } catch {
      return undefined; // logged by the counters' connection, once a minute
    }
  }

  private local(tenantId: string, window: number): number {
    const w = this.windows.get(tenantId);
    if (!w || w.window !== window) {
      this.windows.set(tenantId, { window, count: 1 });
      return 1;
    }
    return (w.count += 1);
  }
}
