import { sql } from 'kysely';
import type { Db } from '../db/db.js';
import { createSandboxServer, type SandboxServer } from '../providers/sandbox/index.js';

/**
 * The built-in sandbox line. Channels store the placeholder base URL below; every process that talks
 * to the sandbox (API for contact replies, workers for sends) starts its own in-process sandbox
 * server on first use and rewrites the placeholder to it. The sandbox keeps no state that matters
 * across processes: lines register on first use, and its webhooks go to the public URL, where any
 * Switchboard process takes them.
 */
export const BUILTIN_SANDBOX_URL = 'http://sandbox.switchboard.internal';

export interface BuiltinSandbox {
  fetch: typeof fetch;
  close(): Promise<void>;
}

export function createBuiltinSandbox(p: { db: Db; publicUrl: string; fetch: typeof fetch }): BuiltinSandbox {
  let server: Promise<{ sandbox: SandboxServer; url: string }> | undefined;
  const start = () =>
    (server ??= (async () => {
      const sandbox = createSandboxServer({
        fetch: p.fetch,
        webhookUrlFor: async (lineId) => {
          const { rows } = await sql<{ token: string | null }>`select sb_sandbox_webhook_token(${lineId}) as token`.execute(p.db);
          const token = rows[0]?.token;
          return token ? `${p.publicUrl}/webhooks/sandbox/${token}` : undefined;
        },
      });
      const url = await sandbox.listen(0);
      return { sandbox, url };
    })());
  const wrapped: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
    if (!url.startsWith(BUILTIN_SANDBOX_URL)) return p.fetch(input, init);
    const { url: base } = await start();
    return p.fetch(base + url.slice(BUILTIN_SANDBOX_URL.length), init);
  };
  return {
    fetch: wrapped,
    close: async () => {
      if (server) await (await server).sandbox.close();
    },
  };
}
