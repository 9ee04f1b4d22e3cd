import { userInfo } from 'node:os';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from './main.js';
import type { Config } from '../core/config.js';
import { args, need, print, table, UsageError } from './io.js';
import pino from 'pino';
import { createLogger, createRuntime, type Runtime } from '../app/root.js';
import { audit, cliActor, PLATFORM_TENANT } from '../audit/audit.js';
import { actAs, createTenant, getTenantAsAdmin, listTenants, updateTenantAsAdmin } from '../tenants/service.js';
import { createApiKey, revokeApiKey } from '../identity/key-service.js';
import { channelView, createChannel, listChannels } from '../channels/service.js';
import { createUser } from '../members/service.js';
import { generateApiKey } from '../identity/api-keys.js';
import { newId } from '../core/ids.js';
import { asTenantId, withPlatform, type Tx } from '../db/db.js';
import { SCOPES } from '../identity/scopes.js';

const actor = () => cliActor(userInfo().username);

/** Superadmins and their keys concern no tenant: their audit entries are the platform's (`/admin/audit-log`). */
async function auditPlatform(tx: Tx, action: string, targetType: string, targetId: string, details: Record<string, unknown> = {}): Promise<void> {
  await actAs(tx, PLATFORM_TENANT);
  await audit(tx, { tenantId: PLATFORM_TENANT, actor: actor(), action, targetType, targetId, details });
}
const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** Opens a runtime for a one-shot command and always closes it. */
async function withRuntime<T>(config: Readonly<Config>, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  // Logs go to stderr so `--json` output on stdout stays parseable.
  const rt = await createRuntime(config, { logger: createLogger(config, pino.destination(2)) });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

const quiet = (c: Readonly<Config>): Readonly<Config> => ({ ...c, logLevel: c.logLevel === 'info' ? 'warn' : c.logLevel });


const PAGE = 1000;
/** Every row of a newest-first listing whose pages hold up to PAGE + 1 rows (the extra one says there are more). */
async function everyPage<T extends { id: string }>(page: (before: string | undefined) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let before: string | undefined; ; ) {
    const rows = await page(before);
    out.push(...rows.slice(0, PAGE));
    if (rows.length <= PAGE) return out;
    before = rows[PAGE - 1]!.id;
  }
}
export const adminCommands: Record<string, Command> = {
  'superadmin create': async (config, argv) => {
    const { values } = args(argv, { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } });
    const email = need(values.email, 'email');
    const generated = values.password === undefined;
    const password = values.password ?? randomBytes(12).toString('base64url');
    if (password.length < 12) throw new UsageError('--password must be at least 12 characters');
    const user = await withRuntime(quiet(config), async (rt) => {
      const u = await createUser(rt.ctx, { email, password, name: values.name, superadmin: true });
      await withPlatform(rt.ctx.db, (tx) => auditPlatform(tx, 'superadmin.created', 'user', u.id, { email }));
      return u;
    });
    print(values.json, { ...user, ...(generated ? { password } : {}) }, () =>
      `superadmin ${user.email} created (${user.id})` + (generated ? `\npassword (shown once): ${password}` : ''),
    );
  },
  'superadmin key': async (config, argv) => {
    const { values } = args(argv, { name: { type: 'string' }, 'expires-in-days': { type: 'string' } });
    const days = values['expires-in-days'];
    if (days !== undefined && !/^[1-9]\d{0,4}$/.test(days)) throw new UsageError('--expires-in-days is a whole number of days from 1 to 99999');
    const expiresAt = days === undefined ? null : new Date(Date.now() + Number(days) * 86_400_000);
    const { key, hash, hint } = generateApiKey('admin');
    const id = newId('key');
    await withRuntime(quiet(config), (rt) =>
      withPlatform(rt.ctx.db, async (tx) => {
        await tx.insertInto('admin_keys').values({ id, name: values.name ?? 'cli', hint, key_hash: hash, expires_at: expiresAt }).execute();
        await auditPlatform(tx, 'admin_key.created', 'admin_key', id, { name: values.name ?? 'cli', hint, expires_at: expiresAt?.toISOString() ?? null });
      }),
    );
    const expires_at = expiresAt?.toISOString() ?? null;
    print(values.json, { id, name: values.name ?? 'cli', key, expires_at }, () => `superadmin key ${id}${expires_at ? `, expires ${expires_at}` : ''} (shown once):\n${key}`);
  },
  'superadmin keys': async (config, argv) => {
    const { values } = args(argv, {});
    const rows = await withRuntime(quiet(config), (rt) =>
      rt.ctx.db.selectFrom('admin_keys').select(['id', 'name', 'hint', 'created_at', 'expires_at', 'revoked_at', 'last_used_at']).orderBy('id').execute(),
    );
    const view = rows.map((r) => ({ ...r, created_at: iso(r.created_at), expires_at: iso(r.expires_at), revoked_at: iso(r.revoked_at), last_used_at: iso(r.last_used_at) }));
    print(values.json, view, () => table(view as unknown as Record<string, unknown>[], ['id', 'name', 'hint', 'expires_at', 'revoked_at', 'last_used_at']));
  },
  'superadmin key revoke': async (config, argv) => {
    const { values, positionals } = args(argv, {});
    const id = positionals[0];
    if (!id) throw new UsageError('name the superadmin key id to revoke');
    const revoked = await withRuntime(quiet(config), (rt) =>
      withPlatform(rt.ctx.db, async (tx) => {
        const row = await tx.updateTable('admin_keys').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).returning('id').executeTakeFirst();
        if (row) await auditPlatform(tx, 'admin_key.revoked', 'admin_key', id);
        return row;
      }),
    );
    if (!revoked) throw new UsageError(`no superadmin key ${id} that is not revoked already`);
    print(values.json, { id, revoked: true }, () => `superadmin key ${id} revoked`);
  },
  'tenants create': async (config, argv) => {
    const { values } = args(argv, { slug: { type: 'string' }, name: { type: 'string' }, plan: { type: 'string' } });
    const t = await withRuntime(quiet(config), (rt) =>
      createTenant(rt.ctx, actor(), { slug: need(values.slug, 'slug'), name: values.name ?? need(values.slug, 'slug'), plan: values.plan }),
    );
    print(values.json, t, () => `tenant ${t.slug} created (${t.id}, plan ${t.plan})`);
  },
  'tenants list': async (config, argv) => {
    const { values } = args(argv, {});
    const rows = await withRuntime(quiet(config), (rt) => everyPage((before) => listTenants(rt.ctx, { limit: PAGE, ...(before ? { before } : {}) })));
    print(values.json, rows, () => table(rows as unknown as Record<string, unknown>[], ['id', 'slug', 'name', 'status', 'plan']));
  },
  'tenants suspend': (config, argv) => setStatus(config, argv, 'suspended'),
  'tenants activate': (config, argv) => setStatus(config, argv, 'active'),
  'keys create': async (config, argv) => {
    const { values } = args(argv, { tenant: { type: 'string' }, name: { type: 'string' }, scopes: { type: 'string' }, mode: { type: 'string' } });
    // Only a missing --scopes means every scope: an empty one (an unset variable in a script) is a mistake.
    const scopes = values.scopes === undefined ? ['*'] : values.scopes.split(',').map((s) => s.trim());
    if (scopes.some((s) => s === '')) throw new UsageError('--scopes names no scope (an empty list or an empty entry); leave it out for every scope');
    for (const s of scopes) if (s !== '*' && !(SCOPES as readonly string[]).includes(s)) throw new UsageError(`unknown scope ${s}; scopes: *, ${SCOPES.join(', ')}`);
    if (values.mode && values.mode !== 'live' && values.mode !== 'test') throw new UsageError('--mode is live or test');
    const k = await withRuntime(quiet(config), async (rt) => {
      const t = await getTenantAsAdmin(rt.ctx, need(values.tenant, 'tenant'));
      return createApiKey(rt.ctx, actor(), asTenantId(t.id), { name: values.name ?? 'cli', scopes, mode: values.mode as 'live' | undefined });
    });
    print(values.json, k, () => `API key ${k.id} for scopes ${k.scopes.join(',')} (shown once):\n${k.key}`);
  },
  'keys revoke': async (config, argv) => {
    const { values, positionals } = args(argv, { tenant: { type: 'string' } });
    const id = positionals[0];
    if (!id) throw new UsageError('name the key id to revoke');
    const k = await withRuntime(quiet(config), async (rt) => {
      const t = await getTenantAsAdmin(rt.ctx, need(values.tenant, 'tenant'));
      return revokeApiKey(rt.ctx, actor(), asTenantId(t.id), id);
    });
    print(values.json, k, () => `API key ${id} revoked`);
  },
  'channels list': async (config, argv) => {
    const { values } = args(argv, { tenant: { type: 'string' } });
    const rows = await withRuntime(quiet(config), async (rt) => {
      const t = await getTenantAsAdmin(rt.ctx, need(values.tenant, 'tenant'));
      return (await everyPage((before) => listChannels(rt.ctx, asTenantId(t.id), PAGE, before))).map((c) => channelView(rt.ctx, c));
    });
    print(values.json, rows, () => table(rows as unknown as Record<string, unknown>[], ['id', 'name', 'provider', 'external_id', 'status']));
  },
  'channels add': async (config, argv) => {
    const { values } = args(argv, { tenant: { type: 'string' }, provider: { type: 'string' }, name: { type: 'string' }, credentials: { type: 'string' } });
    // Secrets on a command line are seen by `ps` and kept in shell history: `@file` and `-` (stdin) keep them out.
    const given = need(values.credentials, 'credentials');
    let text: string;
    try {
      text = given === '-' ? readFileSync(0, 'utf8') : given.startsWith('@') ? readFileSync(given.slice(1), 'utf8') : given;
    } catch (err) {
      throw new UsageError(`--credentials ${given}: ${(err as Error).message}`);
    }
    let credentials: unknown;
    try {
      credentials = JSON.parse(text);
    } catch {
      credentials = undefined;
    }
    if (credentials === null || typeof credentials !== 'object' || Array.isArray(credentials)) throw new UsageError('--credentials must be a JSON object (inline, @file or - for stdin)');
    const c = await withRuntime(quiet(config), async (rt) => {
      const t = await getTenantAsAdmin(rt.ctx, need(values.tenant, 'tenant'));
      return createChannel(rt.ctx, actor(), asTenantId(t.id), { name: need(values.name, 'name'), provider: need(values.provider, 'provider'), credentials: credentials as Record<string, unknown> });
    });
    print(values.json, c, () => `channel ${c.id} (${c.provider} ${c.external_id}) connected\nwebhook URL for the provider: ${c.webhook_url}`);
  },
};

async function setStatus(config: Readonly<Config>, argv: string[], status: 'active' | 'suspended'): Promise<void> {
  const { values, positionals } = args(argv, {});
  const ref = positionals[0];
  if (!ref) throw new UsageError('name the tenant (slug or id)');
  const t = await withRuntime(quiet(config), (rt) => updateTenantAsAdmin(rt.ctx, actor(), ref, { status }));
  print(values.json, t, () => `tenant ${t.slug} is ${t.status}`);
}
