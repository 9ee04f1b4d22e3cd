import type { Logger as PinoLogger } from 'pino';
import type { Config } from '../core/config.js';
import type { Clock } from '../core/runtime.js';
import type { Vault } from '../crypto/vault.js';
import type { Db } from '../db/db.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { HttpRequest } from '../core/http-transport.js';
import type { JwtVerifier } from '../identity/jwt.js';
import type { Listen } from '../db/listen.js';
import type { AuthCache } from '../identity/auth-cache.js';
import type { Maintenance } from '../ops/vacuum.js';
import type { SharedCounters } from '../core/shared-counters.js';

/**
 * Everything a request handler or worker needs, built once in the composition root
 * (`src/app/root.ts`) and passed down explicitly. Functions take `(ctx, params)`.
 */
export interface AppContext {
  config: Readonly<Config>;
  db: Db;
  logger: PinoLogger;
  clock: Clock;
  vault: Vault;
  providers: ProviderRegistry;
  /** Outbound HTTP to providers (injected so tests can observe it); tenant webhook deliveries use `webhookRequest`. */
  fetch: typeof fetch;
  /**
   * HTTP to tenant webhook endpoints: this context's delivery transport (src/events/deliver.ts),
   * under `config.egressAllowPrivate`, closed with the context. Never `fetch`, so a caller that
   * injects `fetch` cannot bypass the egress check (decision 043).
   */
  webhookRequest: HttpRequest;
  jwt: JwtVerifier | undefined;
  /** LISTEN on a PostgreSQL channel (SSE wake-ups across processes); absent ⇒ callers poll. */
  listen?: Listen;
  /** Credential lookups cached per process, invalidated over LISTEN (decision 019). */
  authCache: AuthCache;
  /** VACUUM of the queue tables as the schema owner (decision 033); absent without the owner's URL. */
  maintenance?: Maintenance;
  /** Counters shared by every process (Redis, `REDIS_URL`); absent ⇒ each process counts alone. */
  sharedCounters?: SharedCounters;
}
