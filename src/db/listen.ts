import pg from 'pg';
import type { Logger } from '../core/runtime.js';

/**
 * LISTEN on a PostgreSQL channel over one dedicated connection (pooled connections cannot hold a
 * LISTEN). Reconnects after a lost connection with a capped backoff; notifications sent while it
 * was down are lost, so callers keep a slow poll as a safety net or resynchronise through
 * `onState` (true after every successful LISTEN, the first one included; false when it is lost).
 */
export type Listen = (channel: string, onPayload: (payload: string) => void, onState?: (listening: boolean) => void) => Promise<() => Promise<void>>;

/**
 * Stops a LISTEN started with `Listen`, waiting at most `waitMs`: one still connecting (database
 * down) must not hold a shutdown; it ends itself once connected (see `connect`).
 */
export async function stopListen(handle: Promise<() => Promise<void>> | undefined, waitMs = 1000): Promise<void> {
  if (!handle) return;
  const end = handle.then((stop) => stop(), () => undefined);
  await Promise.race([end, new Promise((r) => setTimeout(r, waitMs).unref())]);
}

export function createListen(url: string, logger: Logger): Listen {
  return async (channel, onPayload, onState) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
    let client: pg.Client | undefined;
    let stopped = false;
    let delay = 250;
    const connect = async (): Promise<void> => {
      while (!stopped) {
        const c = new pg.Client({ connectionString: url });
        c.on('notification', (n) => n.channel === channel && onPayload(n.payload ?? ''));
        c.on('error', (err) => {
          logger.warn({ err: err.message, channel }, 'LISTEN connection lost; reconnecting');
          if (client === c) client = undefined;
          onState?.(false);
          c.end().catch(() => undefined);
          if (!stopped) setTimeout(() => void connect(), delay).unref();
        });
        try {
          await c.connect();
          await c.query(`listen ${channel}`);
          // Stopped while connecting: nobody holds this connection to end it later.
          if (stopped) {
            await c.end().catch(() => undefined);
            return;
          }
          client = c;
          delay = 250;
          // Whatever was notified while no LISTEN was active is lost: the caller resynchronises.
          onState?.(true);
          return;
        } catch (err) {
          await c.end().catch(() => undefined);
          logger.warn({ err: (err as Error).message, channel }, 'LISTEN connect failed; retrying');
          // Unref: a reconnect loop alone must not keep a finished process alive.
          await new Promise((r) => setTimeout(r, delay).unref());
          delay = Math.min(delay * 2, 5_000);
        }
      }
    };
    await connect();
    return async () => {
      stopped = true;
      await client?.end().catch(() => undefined);
    };
  };
}
