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
 * Shared counters in Redis at `url`. While Redis is unreachable a call fails at once (no offline
 * queue, one attempt) and the caller counts on its own; the client reconnects in the background.
 */
export function redisCounters(url: string, logger: Logger): SharedCounters {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: false });
  let lastError = 0;
  redis.on('error', (err: Error) => {
    // ioredis reports every failed reconnect; one line a minute says enough.
    if (Date.now() - lastError < 60_000) return;
    lastError = Date.now();
    logger.warn({ err: err.message }, 'redis unavailable; API rate limits are counted per process until it is back');
  });
  return {
    incr: async (key, ttlMs) => Number(await redis.eval(INCR_EXPIRE, 1, key, String(ttlMs))),
    ping: async (timeoutMs = 2_000) => {
      if (redis.status !== 'ready') {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          redis.once('ready', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      await redis.ping();
    },
    close: async () => {
      redis.disconnect();
    },
  };
}
