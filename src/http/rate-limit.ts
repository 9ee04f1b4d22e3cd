import type { AppContext } from '../app/context.js';
import { AppError } from '../core/errors.js';
import type { TenantId } from '../db/db.js';
import { loadLimits } from '../tenants/limits.js';

/**
 * Per-tenant API request limit (plan `api_requests_per_minute`), fixed one-minute windows.
 * Counters live in this process (DESIGN §2: Redis is optional and only shares these across nodes);
 * limits are cached for 30 s so a request costs no extra query.
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
    const window = Math.floor(now / 60_000);
    const w = this.windows.get(tenantId);
    if (!w || w.window !== window) {
      this.windows.set(tenantId, { window, count: 1 });
      return;
    }
    w.count += 1;
    if (w.count > cached.limit) {
      const retry = Math.ceil(((window + 1) * 60_000 - now) / 1000);
      throw new AppError('rate_limited', `the plan allows ${cached.limit} API requests a minute`, { retryAfterSeconds: retry });
    }
  }
}
