import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { openCredentials } from '../channels/service.js';
import { stopListen } from '../db/listen.js';

/** A channel a webhook routes to, with decrypted credentials for its signature check. */
export interface RoutedChannel {
  tenantId: string;
  channelId: string;
  externalId: string;
  active: boolean;
  credentials: Record<string, unknown>;
}

interface Entry {
  /** When the lookup behind `value` started: the answer is at least this fresh. */
  at: number;
  value: Promise<RoutedChannel | null>;
  refreshing?: boolean;
}

type Lookup = (provider: string, externalId: string | null, token: string | null) => Promise<RoutedChannel | null>;

/**
 * Routing answers cached for a few seconds per process: without it every webhook costs one more
 * database round trip plus an AES-GCM open before the inbox write, doubling the round trips on the
 * acknowledge path, and a busy line sends the same routing key hundreds of times a second. The price
 * is that a disabled channel or a changed secret takes effect within TTL_MS (5 s) on every node.
 *
 * A line in use is refreshed ahead: the first request after REFRESH_AFTER_MS starts a lookup in the
 * background and is answered from the entry it has, which is still within TTL_MS; the new answer
 * replaces it when it arrives. Without this, every busy line's entry expired at once every 5 s and
 * the requests of that moment waited for 100 lookups together (on the bench, acknowledge times of
 * 100–270 ms every fifth second at 2,700 webhooks/s). Only a line quiet for longer than TTL_MS
 * waits for its lookup.
 */
const TTL_MS = 5_000;
const REFRESH_AFTER_MS = 3_500;
const MAX_ENTRIES = 10_000;

export class RouteCache {
  private readonly entries = new Map<string, Entry>();
  private readonly lookup: Lookup;
  private stopListening: Promise<() => Promise<void>> | undefined;
  private readonly listen: (() => void) | undefined;
  constructor(ctx: AppContext, lookupFn?: Lookup, private readonly now: () => number = Date.now) {
    this.lookup = lookupFn ?? ((provider, externalId, token) => lookup(ctx, provider, externalId, token));
    // A change to what routing reads commits a NOTIFY (migration 041): every cached route goes at
    // once, not after its 5 s. Without LISTEN (or while it is down) the TTL alone bounds staleness.
    // Started with the first lookup, so a process that routes no webhook holds no connection for it.
    const listen = ctx.listen;
    if (listen && !lookupFn) {
      this.listen = () => {
        this.stopListening = listen('sb_routes', () => this.clear(), () => this.clear());
        this.stopListening.catch((err: unknown) => ctx.logger.warn({ err: (err as Error)?.message }, 'route LISTEN failed; cached routes expire after 5 s'));
      };
    }
  }

  private closed = false;
  async close(): Promise<void> {
    this.closed = true;
    const stop = this.stopListening;
    this.stopListening = undefined;
    await stopListen(stop);
  }

  byExternalId(provider: string, externalId: string): Promise<RoutedChannel | null> {
    return this.get(`${provider}\0e\0${externalId}`, provider, externalId, null);
  }

  byToken(provider: string, token: string): Promise<RoutedChannel | null> {
    return this.get(`${provider}\0t\0${token}`, provider, null, token);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Drops what is cached for a line or a URL token (its channel turned out to be gone). */
  forget(provider: string, key: { externalId: string } | { token: string }): void {
    this.entries.delete('externalId' in key ? `${provider}\0e\0${key.externalId}` : `${provider}\0t\0${key.token}`);
  }

  private get(key: string, provider: string, externalId: string | null, token: string | null): Promise<RoutedChannel | null> {
    if (this.listen && !this.stopListening && !this.closed) this.listen();
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < TTL_MS) {
      if (now - hit.at >= REFRESH_AFTER_MS && !hit.refreshing) this.refresh(key, hit, provider, externalId, token);
      return hit.value;
    }
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const value = this.lookup(provider, externalId, token);
    this.entries.set(key, { at: now, value });
    // A failed lookup (database down) must not be remembered.
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }

  /** Replaces `hit` once a fresh answer arrives; on failure `hit` stays until it expires. */
  private refresh(key: string, hit: Entry, provider: string, externalId: string | null, token: string | null): void {
    hit.refreshing = true;
    const at = this.now();
    const value = this.lookup(provider, externalId, token);
    value.then(
      () => {
        if (this.entries.get(key) === hit) this.entries.set(key, { at, value });
      },
      () => {
        hit.refreshing = false;
      },
    );
  }
}

async function lookup(ctx: AppContext, provider: string, externalId: string | null, token: string | null): Promise<RoutedChannel | null> {
  const { rows } = await sql<{ tenant_id: string; id: string; status: string; external_id: string; secrets_enc: string; settings: unknown; tenant_status: string }>`
    select * from sb_route_channel_secret(${provider}, ${externalId}, ${token})`.execute(ctx.db);
  const r = rows[0];
  if (!r) return null;
  return {
    tenantId: r.tenant_id,
    channelId: r.id,
    externalId: r.external_id,
    active: r.status === 'active' && r.tenant_status === 'active',
    credentials: openCredentials(ctx, { tenant_id: r.tenant_id, id: r.id, secrets_enc: r.secrets_enc, settings: r.settings }),
  };
}
