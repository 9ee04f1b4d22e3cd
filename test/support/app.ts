import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { parseConfig, type Config } from '../../src/core/config.js';
import { buildApp, type App } from '../../src/http/app.js';
import { generateApiKey } from '../../src/identity/api-keys.js';
import { newId } from '../../src/core/ids.js';
import type { AppContext } from '../../src/app/context.js';
import { asTenantId, type Database } from '../../src/db/db.js';
import { createApiKey } from '../../src/identity/key-service.js';
import { createAppContext } from '../../src/app/root.js';
import { useInboundThread } from '../../src/inbound/pipeline.js';
import { createTestDatabase, TEST_APP_ROLE, type TestDatabase } from './db.js';

export interface TestApp {
  app: App;
  ctx: AppContext;
  database: Database;
  testDb: TestDatabase;
  /** Superadmin key for /admin routes. */
  adminKey: string;
  /** Every log line the app wrote, for "no secret in any log line" checks. */
  logs: string[];
  /** Runs `fn` over a connection as the schema owner (every tenant's rows; RLS lets it), closed after. */
  asOwner<T>(fn: (owner: pg.Client) => Promise<T>): Promise<T>;
  /** Creates a tenant with an owner-scoped (`*`) API key through the admin API. */
  tenant(slug?: string, plan?: string): Promise<{ id: string; slug: string; key: string }>;
  close(): Promise<void>;
}

/** The real app on a fresh, migrated database, connected as the non-owner app role. */
export async function startTestApp(env: Record<string, string> = {}, overrides: Partial<Config> = {}): Promise<TestApp> {
  const testDb = await createTestDatabase();
  const config = parseConfig(
    { MASTER_KEY: randomBytes(32).toString('base64'), EGRESS_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'debug', DB_APP_ROLE: TEST_APP_ROLE, DB_POOL_SIZE: '10', INBOUND_THREAD: process.env.SB_TEST_INBOUND_THREAD ?? 'false', ...env },
    overrides,
  );
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  // The built-in sandbox posts webhooks to PUBLIC_URL (unset: nowhere reachable); tests that want
  // them listen and pass PUBLIC_URL.
  const { ctx, database, close: closeContext } = createAppContext({ config, appUrl: testDb.appUrl, logger, providerTimeoutMs: 3000 });
  // Tests process on the main thread unless they ask for the processing thread (decision 030).
  if (config.inboundThread) useInboundThread(ctx, testDb.appUrl);
  const app = await buildApp(ctx);
  await app.ready();
  const { key: adminKey, hash, hint } = generateApiKey('admin');
  await database.db.insertInto('admin_keys').values({ id: newId('key'), name: 'test', hint, key_hash: hash }).execute();
  let n = 0;
  return {
    app,
    ctx,
    database,
    testDb,
    adminKey,
    logs,
    async asOwner(fn) {
      const owner = new pg.Client({ connectionString: testDb.ownerUrl });
      await owner.connect();
      try {
        return await fn(owner);
      } finally {
        await owner.end();
      }
    },
    async tenant(slug = `t${++n}-${randomBytes(3).toString('hex')}`, plan = 'unlimited') {
      const t = await app.inject({ method: 'POST', url: '/admin/tenants', headers: { authorization: `Bearer ${adminKey}` }, payload: { slug, name: slug, plan } });
      if (t.statusCode !== 201) throw new Error(`tenant create failed: ${t.body}`);
      const id = t.json().id as string;
      const k = await createApiKey(ctx, { type: 'system', id: null, ip: null }, asTenantId(id), { name: 'test' });
      return { id, slug, key: k.key };
    },
    async close() {
      await app.close();
      await closeContext();
      await testDb.drop();
    },
  };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
