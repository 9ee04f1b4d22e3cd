import { isIP } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/**
 * Configuration: read from the environment (and an optional `.env`) once, validated as a whole, then
 * frozen. Every problem is reported in one message so an operator fixes them in one go. Nothing else
 * in the code base reads `process.env`.
 */
export interface Config {
  mode: 'production' | 'development';
  host: string;
  port: number;
  /** Where embedded PostgreSQL data and the generated master key live. */
  dataDir: string;
  /** Owner / migration connection. Unset ⇒ embedded PostgreSQL. */
  databaseUrl: string | undefined;
  /** Application connection (non-owner role). Unset ⇒ derived from databaseUrl with the app role. */
  appDatabaseUrl: string | undefined;
  dbAppRole: string;
  dbAppPassword: string | undefined;
  dbPoolSize: number;
  embeddedPgPort: number;
  /** Current master key (32 bytes) and older ones still accepted for decryption. */
  masterKey: Buffer | undefined;
  previousMasterKeys: Buffer[];
  jwt: { secret: string | undefined; jwksUrl: string | undefined; issuer: string | undefined; audience: string | undefined };
  baseDomain: string | undefined;
  publicUrl: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bodyLimitBytes: number;
  /** A client must send its whole request (headers and body) within this; else 408 and the connection closes. */
  requestTimeoutSeconds: number;
  redisUrl: string | undefined;
  /** Which peers' X-Forwarded-For is believed for the client address (Fastify's trustProxy). */
  trustProxy: boolean | string[];
  egressAllowPrivate: boolean;
  /** DNS servers (`ip` or `ip:port`) for tenant and provider hosts; empty: /etc/resolv.conf's (decision 059). */
  egressDnsServers: string[];
  cookieSecure: boolean;
  /**
   * Process acknowledged webhooks on a worker thread of their own (decision 030), so the event loop
   * that answers webhooks and API calls never runs normalisation. Off: on the main thread.
   */
  inboundThread: boolean;
  /**
   * Nice value asked for the thread that answers HTTP (webhooks and the API) in the start and serve
   * roles (decision 039); a negative one needs privilege, without which the thread keeps its own.
   */
  httpThreadNice: number;
  /**
   * Days the tenant event log keeps an event, with its deliveries and their attempts (decision 032);
   * 0 keeps them for good. An event with a delivery still pending is kept past it.
   */
  eventsRetentionDays: number;
  /**
   * Seconds between an event stream's heartbeats; each also re-checks the stream's credential, so a
   * revoked key's stream ends within it.
   */
  sseHeartbeatSeconds: number;
  /** Event streams one tenant may hold open in one process (each reads on every wake-up of its tenant). */
  sseMaxStreamsPerTenant: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Loads `.env` from the working directory (if present) under the real environment. */
export function readEnvironment(cwd: string = process.cwd()): Env {
  const file = `${cwd}/.env`;
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...process.env };
}

function decodeKey(name: string, value: string, problems: string[]): Buffer | undefined {
  const trimmed = value.trim();
  const buf = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (buf.length !== 32) {
    problems.push(`${name} must be 32 bytes, as 64 hex characters or base64 (got ${buf.length} bytes)`);
    return undefined;
  }
  return buf;
}

export function parseConfig(env: Env, overrides: Partial<Config> = {}): Readonly<Config> {
  const problems: string[] = [];
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return def;
    }
    return n;
  };
  const url = (name: string, protocols: string[]): string | undefined => {
    const raw = env[name];
    if (!raw) return undefined;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) problems.push(`${name} must use ${protocols.join(' or ')} (got ${u.protocol})`);
      return raw;
    } catch {
      problems.push(`${name} is not a valid URL`);
      return undefined;
    }
  };
  const bool = (name: string, def: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return def;
  };
  /** A comma-separated list of `ip`, `ip:port` or `[ipv6]:port`. */
  const dnsServers = (name: string): string[] => {
    const list = (env[name] ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    for (const x of list) {
      const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(x) ?? /^([^:]+)(?::(\d{1,5}))?$/.exec(x) ?? [x, x, undefined];
      const port = m[2] === undefined ? 53 : Number(m[2]);
      if (isIP(m[1] ?? '') === 0 || port < 1 || port > 65535) problems.push(`${name} must list DNS servers as ip, ip:port or [ipv6]:port (got "${x}")`);
    }
    return list;
  };

  const modeRaw = env.SWITCHBOARD_ENV ?? (env.NODE_ENV === 'production' ? 'production' : 'development');
  if (modeRaw !== 'production' && modeRaw !== 'development') {
    problems.push(`SWITCHBOARD_ENV must be production or development (got "${modeRaw}")`);
  }
  const mode = modeRaw === 'production' ? 'production' : 'development';
  const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  const logLevel = (env.LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!logLevels.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${logLevels.join(', ')}`);

  const masterKey = env.MASTER_KEY ? decodeKey('MASTER_KEY', env.MASTER_KEY, problems) : undefined;
  if (mode === 'production' && !env.MASTER_KEY) problems.push('MASTER_KEY is required when SWITCHBOARD_ENV=production');
  const previousMasterKeys = (env.MASTER_KEY_PREVIOUS ?? '')
    .split(',')
    .filter((s) => s.trim())
    .map((k, i) => decodeKey(`MASTER_KEY_PREVIOUS[${i}]`, k, problems))
    .filter((k): k is Buffer => k !== undefined);

  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  if (mode === 'production' && !databaseUrl) problems.push('DATABASE_URL is required when SWITCHBOARD_ENV=production');
  const role = env.DB_APP_ROLE ?? 'switchboard_app';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role)) problems.push('DB_APP_ROLE must be a lower-case SQL identifier');
  const trustRaw = (env.TRUST_PROXY ?? 'loopback,linklocal,uniquelocal').trim();
  const trustList = trustRaw.split(',').map((s) => s.trim()).filter(Boolean);
  if (!['true', 'false'].includes(trustRaw) && !trustList.every((s) => /^(loopback|linklocal|uniquelocal)$/.test(s) || /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(s))) {
    problems.push('TRUST_PROXY must be true, false, or a comma-separated list of addresses, CIDR ranges, loopback, linklocal, uniquelocal');
  }
  const jwtSecret = env.JWT_SECRET;
  if (jwtSecret !== undefined && jwtSecret.length < 32) problems.push('JWT_SECRET must be at least 32 characters');

  const config: Config = {
    mode,
    host: env.HOST ?? '127.0.0.1',
    port: int('PORT', 3000, 0, 65535),
    dataDir: env.DATA_DIR ?? './.switchboard',
    databaseUrl,
    appDatabaseUrl: url('APP_DATABASE_URL', ['postgres:', 'postgresql:']),
    dbAppRole: role,
    dbAppPassword: env.DB_APP_PASSWORD,
    dbPoolSize: int('DB_POOL_SIZE', 20, 1, 500),
    embeddedPgPort: int('EMBEDDED_PG_PORT', 54329, 1024, 65535),
    masterKey,
    previousMasterKeys,
    jwt: {
      secret: jwtSecret,
      jwksUrl: url('JWT_JWKS_URL', ['https:', 'http:']),
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
    },
    baseDomain: env.BASE_DOMAIN,
    publicUrl: url('PUBLIC_URL', ['https:', 'http:']),
    logLevel,
    bodyLimitBytes: int('BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    requestTimeoutSeconds: int('REQUEST_TIMEOUT_SECONDS', 30, 1, 3600),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    trustProxy: trustRaw === 'true' ? true : trustRaw === 'false' ? false : trustList,
    egressAllowPrivate: bool('EGRESS_ALLOW_PRIVATE', false),
    egressDnsServers: dnsServers('EGRESS_DNS_SERVERS'),
    cookieSecure: bool('COOKIE_SECURE', mode === 'production'),
    inboundThread: bool('INBOUND_THREAD', true),
    httpThreadNice: int('HTTP_THREAD_NICE', -5, -20, 19),
    eventsRetentionDays: int('EVENTS_RETENTION_DAYS', 30, 0, 3650),
    sseHeartbeatSeconds: int('SSE_HEARTBEAT_SECONDS', 15, 1, 300),
    sseMaxStreamsPerTenant: int('SSE_MAX_STREAMS_PER_TENANT', 20, 1, 10_000),
    ...overrides,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
