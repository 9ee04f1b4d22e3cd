import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import type { Config } from '../core/config.js';
import { systemClock, type Clock } from '../core/runtime.js';
import { generateMasterKey, Vault } from '../crypto/vault.js';
import { openDatabase, type Database } from '../db/db.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded.js';
import { appUrlFrom, migrate } from '../db/migrate.js';
import { createListen } from '../db/listen.js';
import { createJwtVerifier } from '../identity/jwt.js';
import { AuthCache } from '../identity/auth-cache.js';
import { createProviderRegistry } from '../providers/registry.js';
import { createHttpTransport } from '../core/http-transport.js';
import { resolverFor } from '../core/egress.js';
import { createDeliveryTransport } from '../events/deliver.js';
import type { AppContext } from './context.js';
import { createBuiltinSandbox } from './sandbox.js';
import { ownerMaintenance } from '../ops/vacuum.js';
import { redisCounters } from '../core/shared-counters.js';
import { publicBaseUrl } from './urls.js';
import { appConnectionProblems } from '../db/rls-check.js';

/**
 * The composition root: the one place that turns configuration into live parts (database, vault,
 * providers, logger) and wires them into an `AppContext`. Nothing is created at import time.
 */
export interface Runtime {
  ctx: AppContext;
  database: Database;
  ownerUrl: string;
  appUrl: string;
  embedded: EmbeddedPostgres | undefined;
  /** True when the master key was generated on this start (first run, development only). */
  generatedMasterKey: boolean;
  close(): Promise<void>;
}

// Header and field names whose values never reach a log line.
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  '*.credentials',
  '*.password',
  '*.secret',
  '*.token',
  '*.accessToken',
  '*.apiKey',
  '*.appSecret',
];

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): pino.Logger {
  return pino(
    {
      level: config.logLevel,
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: {
        // Per-channel webhook URLs carry an unguessable token: log the route, not the token.
        req: (req: { method: string; url: string; hostname?: string; ip?: string }) => ({
          method: req.method,
          url: req.url.replace(/^(\/webhooks\/[a-z-]+\/)[^/?]+/, '$1[token]').replace(/([?&](hub\.verify_token|token)=)[^&]*/g, '$1[redacted]'),
          host: req.hostname,
          ip: req.ip,
        }),
      },
    },
    destination,
  );
}

async function readOrCreate(file: string, make: () => string): Promise<{ value: string; created: boolean }> {
  if (existsSync(file)) return { value: (await readFile(file, 'utf8')).trim(), created: false };
  await writeFile(file, make() + '\n', { mode: 0o600 });
  return { value: (await readFile(file, 'utf8')).trim(), created: true };
}

async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const { rowCount } = await c.query('select 1 from pg_database where datname = $1', [name]);
    if (rowCount === 0) await c.query(`create database ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * An AppContext over an app-role database URL: the wiring shared by the server, the CLI, tests and
 * benchmarks (which bring their own database). `config.masterKey` must be set.
 */
export function createAppContext(p: {
  config: Readonly<Config>;
  appUrl: string;
  logger: pino.Logger;
  clock?: Clock;
  fetch?: typeof fetch;
  /** Timeout for provider HTTP calls (default 15 s). */
  providerTimeoutMs?: number;
  onPoolError?: (err: Error) => void;
  /** The schema owner's URL, for VACUUM of the queue tables only (decision 033). */
  ownerUrl?: string;
}): { ctx: AppContext; database: Database; close(): Promise<void> } {
  if (!p.config.masterKey) throw new Error('createAppContext needs config.masterKey');
  const database = openDatabase(p.appUrl, p.config.dbPoolSize, p.onPoolError);
  const clock = p.clock ?? systemClock;
  const fetchImpl = p.fetch ?? fetch;
  const sandbox = createBuiltinSandbox({ db: database.db, publicUrl: publicBaseUrl(p.config), fetch: fetchImpl });
  // Provider calls go over node:http (src/core/http-transport.ts) unless the caller injected its own
  // fetch (tests that want to see every call); the built-in sandbox keeps its in-process fetch.
  // Both resolve names off Node's thread pool (decision 059).
  const resolve = resolverFor(p.config.egressDnsServers);
  const transport = p.fetch ? undefined : createHttpTransport({ allowPrivate: p.config.egressAllowPrivate, resolve });
  // Tenant webhook deliveries have their own transport, whatever `fetch` was injected.
  const webhooks = createDeliveryTransport(p.config.egressAllowPrivate, resolve);
  const deps = { fetch: fetchImpl, request: transport?.request, logger: p.logger, clock, ...(p.providerTimeoutMs ? { timeoutMs: p.providerTimeoutMs } : {}) };
  const listen = createListen(p.appUrl, p.logger);
  const authCache = new AuthCache(listen, (err) => p.logger.warn({ err: (err as Error)?.message }, 'auth LISTEN failed; credential lookups are not cached'));
  const ctx: AppContext = {
    config: p.config,
    db: database.db,
    logger: p.logger,
    clock,
    vault: new Vault(p.config.masterKey, p.config.previousMasterKeys),
    providers: createProviderRegistry(deps, undefined, { sandbox: { fetch: sandbox.fetch, request: undefined } }),
    fetch: fetchImpl,
    webhookRequest: webhooks.request,
    jwt: createJwtVerifier(p.config.jwt),
    listen,
    authCache,
    maintenance: p.ownerUrl ? ownerMaintenance(p.ownerUrl, p.logger) : undefined,
    sharedCounters: p.config.redisUrl ? redisCounters(p.config.redisUrl, p.logger) : undefined,
  };
  return {
    ctx,
    database,
    close: async () => {
      await sandbox.close();
      transport?.close();
      webhooks.close();
      await authCache.close();
      await ctx.maintenance?.close();
      await ctx.sharedCounters?.close();
      await database.close();
    },
  };
}

export interface RuntimeOptions {
  logger?: pino.Logger;
  clock?: Clock;
  fetch?: typeof fetch;
  /** Skip migrations (the `doctor` command inspects, it does not change). */
  migrate?: boolean;
}

export async function createRuntime(config: Readonly<Config>, opts: RuntimeOptions = {}): Promise<Runtime> {
  const logger = opts.logger ?? createLogger(config);
  const dataDir = resolve(config.dataDir);
  let embedded: EmbeddedPostgres | undefined;
  let ownerUrl: string;
  let appPassword = config.dbAppPassword;
  if (config.databaseUrl) {
    ownerUrl = config.databaseUrl;
  } else {
    await mkdir(dataDir, { recursive: true });
    embedded = await startEmbeddedPostgres({
      dir: join(dataDir, 'postgres'),
      port: config.embeddedPgPort,
      log: (line) => logger.debug({ component: 'embedded-postgres' }, line),
    });
    ownerUrl = await ensureDatabase(embedded.adminUrl, 'switchboard');
    appPassword ??= (await readOrCreate(join(dataDir, 'app-db-password'), () => randomBytes(18).toString('base64url'))).value;
  }

  let masterKey = config.masterKey;
  let generatedMasterKey = false;
  if (!masterKey) {
    // Development only (config refuses production without MASTER_KEY).
    await mkdir(dataDir, { recursive: true });
    const k = await readOrCreate(join(dataDir, 'master.key'), generateMasterKey);
    masterKey = Buffer.from(k.value, 'base64');
    generatedMasterKey = k.created;
    logger.warn(
      { file: join(dataDir, 'master.key') },
      'MASTER_KEY is not set: using a key generated for this development instance. Set MASTER_KEY in production and keep it safe; losing it loses every stored provider credential.',
    );
  }

  try {
    if (opts.migrate !== false) await migrate(ownerUrl, { appRole: config.dbAppRole, appPassword, logger });
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  const appUrl = config.appDatabaseUrl ?? appUrlFrom(ownerUrl, config.dbAppRole, appPassword);
  // Row-level security is the last wall between tenants: a connection that is not subject to it
  // would serve every tenant's rows to every tenant without an error. Refuse to run on one
  // (`doctor`, which runs without migrating, reports it as a check instead).
  const bypass = opts.migrate === false ? [] : await appConnectionProblems(appUrl).catch(async (err: unknown) => {
    await embedded?.stop();
    throw err;
  });
  if (bypass.length > 0) {
    await embedded?.stop();
    throw new Error(`the app's database connection is not subject to row-level security (${bypass.join('; ')}): connect as a role that is not a superuser, lacks BYPASSRLS and owns no table (DB_APP_ROLE, or APP_DATABASE_URL)`);
  }
  const { ctx, database, close } = createAppContext({
    config: { ...config, masterKey },
    appUrl,
    ownerUrl,
    logger,
    clock: opts.clock,
    fetch: opts.fetch,
    onPoolError: (err) => logger.warn({ err: err.message }, 'database connection lost'),
  });
  return {
    ctx,
    database,
    ownerUrl,
    appUrl,
    embedded,
    generatedMasterKey,
    close: async () => {
      await close();
      await embedded?.stop();
    },
  };
}
