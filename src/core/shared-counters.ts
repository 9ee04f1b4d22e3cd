import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Counters every Switchboard process sees alike (DESIGN §2: Redis is optional and shares the API
 * rate-limit counters across nodes). `incr` adds one to `key` and returns the new count; the key
 * disappears `ttlMs` after its first increment.
 */
export interface SharedCounters {
  incr(key: string, ttlMs: number): Promise<number>;
  /** Resolves once the store answers (waiting up to `timeoutMs` for the connection); rejects otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** INCR, and on the first increment PEXPIRE, in one atomic step (any Redis version). */
const INCR_EXPIRE = `local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n`;

/**
 * Shared counters in Redis at `url`. The connection opens on first use: every context builds these
 * (the processing thread's, a CLI command's), and only a process serving the API counts. While
 * Redis is unreachable a call fails at once (no offline queue, one attempt) and the caller counts on
 * its own; the client reconnects in the background.
 */
export function redisCounters(url: string, logger: Logger): SharedCounters {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true });
  let lastError = 0;
  redis.on('error', (err: Error) => {
    // ioredis reports every failed reconnect; one line a minute says enough.
    if (Date.now() - lastError < 60_000) return;
    lastError = Date.now();
    logger.warn({ err: err.message }, 'redis unavailable; API rate limits are counted per process until it is back');
  });
  /**
   * The first connection attempt, made by the first caller and awaited by every caller (at most
   * connectTimeout, once; a refused connection fails at once). Its failure reaches the 'error'
   * listener, and ioredis keeps reconnecting.
   */
  let first: Promise<void> | undefined;
  const open = () => (first ??= redis.connect().catch(() => undefined));
  return {
    incr: async (key, ttlMs) => {
      await open();
      return Number(await redis.eval(INCR_EXPIRE, 1, key, String(ttlMs)));
    },
    ping: async (timeoutMs = 2_000) => {
      await open();
      if (redis.status !== 'ready') {
        await new Promise<void>((resolve, reject) => {
          const ready = () => {
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(() => {
            redis.off('ready', ready);
            reject(new Error(`no answer within ${timeoutMs} ms`));
          }, timeoutMs);
          redis.once('ready', ready);
        });
      }
      await redis.ping();
    },
    close: async () => {
      redis.disconnect();
    },
  };
}
