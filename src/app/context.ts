import type { Logger as PinoLogger } from 'pino';
import type { Config } from '../core/config.js';
import type { Clock } from '../core/runtime.js';
import type { Vault } from '../crypto/vault.js';
import type { Db } from '../db/db.js';
import type { ProviderRegistry } from '../providers/registry.js';
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
  /** Outbound HTTP to providers (injected so tests can observe it); tenant webhook deliveries go through `egressRequest` (decision 043). */
  fetch: typeof fetch;
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
