import { stopListen, type Listen } from '../db/listen.js';

/**
 * Per-process cache of credential lookups (decision 019): API key rows by key hash, and tenant
 * statuses for JWT callers. Without it every API request paid one more database round trip before
 * doing anything; on the accept path that was half of the round trips.
 *
 * Correctness rests on invalidation, not on the TTL:
 * - Triggers (migration 006) NOTIFY `sb_auth` with the tenant id whenever a key is revoked, expires
 *   differently, changes scopes or is deleted, and whenever a tenant's status changes or the tenant
 *   is deleted — whoever makes the change (API, CLI, SQL). Every process drops that tenant's entries.
 * - Entries are only kept while this process's LISTEN connection is up; when it is lost (or before it
 *   is first up) lookups go to the database every time, and the cache is cleared when it comes back,
 *   because notifications sent meanwhile are gone.
 * - A lookup that started before an invalidation is used for its own request but not stored, so a
 *   read racing a revocation cannot put the pre-revocation row back.
 * - TTL_MS (10 s) is only a backstop for anything the triggers do not see.
 * The process that makes a change also invalidates synchronously after its commit, so its own next
 * request already sees the change even before the notification arrives.
 */
const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

interface Entry<T> {
  tenantId: string | undefined;
  at: number;
  value: T;
}

export class AuthCache {
  private readonly entries = new Map<string, Entry<unknown>>();
  private generation = 0;
  private live = false;
  private stop: Promise<() => Promise<void>> | undefined;

  constructor(
    private readonly listen: Listen | undefined,
    private readonly onError: (err: unknown) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The cached value of `key`, or `load()`'s (stored when it names a tenant via `tenantOf`).
   * Failed loads and loads returning undefined are never stored.
   */
  async get<T>(key: string, load: () => Promise<T | undefined>, tenantOf: (v: T) => string): Promise<T | undefined> {
    this.start();
    const hit = this.entries.get(key);
    if (hit && this.live && this.now() - hit.at < TTL_MS) return hit.value as T;
    const gen = this.generation;
    const value = await load();
    if (value !== undefined && this.live && gen === this.generation) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(key, { tenantId: tenantOf(value), at: this.now(), value });
    }
    return value;
  }

  /** Drops every entry of `tenantId` (all entries when omitted). */
  invalidate(tenantId?: string): void {
    this.generation += 1;
    if (tenantId === undefined) return this.entries.clear();
    for (const [k, e] of this.entries) if (e.tenantId === tenantId) this.entries.delete(k);
  }

  async close(): Promise<void> {
    const stop = this.stop;
    this.stop = undefined;
    this.live = false;
    await stopListen(stop);
  }

  private start(): void {
    if (this.stop || !this.listen) return;
    this.stop = this.listen(
      'sb_auth',
      (tenantId) => this.invalidate(tenantId || undefined),
      (listening) => {
        this.invalidate();
        this.live = listening;
      },
    );
    this.stop.catch((err: unknown) => this.onError(err));
  }
}
