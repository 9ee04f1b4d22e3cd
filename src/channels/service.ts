import { randomBytes } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { AppError, notFound, ProviderError } from '../core/errors.js';
import { checkEgressUnder } from '../core/egress.js';
import { newId } from '../core/ids.js';
import { withTenant, type TenantId, type Tx } from '../db/db.js';
import type { ChannelsTable } from '../db/schema.js';
import { audit, type Actor } from '../audit/audit.js';
import { effectiveLimits } from '../tenants/limits.js';
import type { ChannelRef, ProviderDefinition, ProviderId } from '../providers/types.js';
import { publicBaseUrl } from '../app/urls.js';
import { BUILTIN_SANDBOX_URL } from '../app/sandbox.js';
import { newSandboxCredentials } from '../providers/sandbox/index.js';

export const MASK = '********';

type ChannelRow = Omit<ChannelsTable, 'created_at' | 'updated_at' | 'status' | 'settings' | 'health'> & {
  status: 'active' | 'disabled';
  settings: Record<string, unknown>;
  health: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
};

export interface ChannelInput {
  name: string;
  provider: string;
  credentials: Record<string, unknown>;
  rate_per_second?: number;
  burst?: number;
  daily_limit?: number | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDef = ProviderDefinition<any>;
const secretNames = (def: AnyDef) => new Set(def.credentials.fields.filter((f) => f.secret).map((f) => f.name));

/** Where a channel's provider posts its webhooks (Cloud API: one URL for every app, decision 021). */
const webhookUrlOf = (base: string, provider: string, token: string): string =>
  provider === 'cloud-api' ? `${base}/webhooks/cloud-api` : `${base}/webhooks/${provider}/${token}`;

export function channelView(ctx: AppContext, c: ChannelRow) {
  const def = ctx.providers.definition(c.provider);
  const credentials: Record<string, unknown> = { ...c.settings };
  for (const name of secretNames(def)) credentials[name] = MASK;
  const base = publicBaseUrl(ctx.config);
  return {
    id: c.id,
    name: c.name,
    provider: c.provider as ProviderId,
    external_id: c.external_id,
    status: c.status,
    credentials,
    rate_per_second: c.rate_per_second,
    burst: c.burst,
    daily_limit: c.daily_limit,
    webhook_url: webhookUrlOf(base, c.provider, c.webhook_token),
    health: c.health,
    created_at: c.created_at.toISOString(),
    updated_at: c.updated_at.toISOString(),
  };
}

function validateCredentials(def: AnyDef, creds: unknown): Record<string, unknown> {
  if (!Value.Check(def.credentials.schema, creds)) {
    const errors = [...Value.Errors(def.credentials.schema, creds)].slice(0, 20).map((e) => ({ path: `/credentials${e.path}`, message: e.message }));
    throw new AppError('validation_failed', `credentials do not fit the ${def.id} provider`, { details: { errors } });
  }
  return creds as Record<string, unknown>;
}

async function checkUrls(ctx: AppContext, def: AnyDef, creds: Record<string, unknown>): Promise<void> {
  for (const f of def.credentials.fields) {
    const v = creds[f.name];
    if (def.id === 'sandbox' && v === BUILTIN_SANDBOX_URL) continue; // in-process, see src/app/sandbox.ts
    if (f.kind === 'url' && typeof v === 'string') await checkEgressUnder(ctx.config, v, `credentials.${f.name}`);
  }
}

/** Live connection test; maps provider failures to the answers an operator can act on. */
export const testConnection = (ctx: AppContext, def: AnyDef, ref: { tenantId: string; channelId: string; credentials: unknown }) =>
  providerCall(def, () => ctx.providers.adapter(def.id).testConnection(ref));

/**
 * Connects a line whose provider keeps a session (WAHA, UltraMsg): creates it (or updates it) with
 * its webhooks pointed at this channel's URL, and starts it — so nobody configures the provider by
 * hand — then tests the connection. Other providers: the connection test alone.
 */
async function connect(ctx: AppContext, def: AnyDef, ref: { tenantId: string; channelId: string; credentials: unknown }, webhookToken: string) {
  const adapter = ctx.providers.adapter(def.id);
  if (adapter.session) {
    const session = adapter.session;
    await providerCall(def, () => session.create(ref, { webhookUrl: webhookUrlOf(publicBaseUrl(ctx.config), def.id, webhookToken), start: true }));
  }
  return testConnection(ctx, def, ref);
}

/** Runs a provider call for a channel, mapping its failures to the answers an operator can act on. */
export async function providerCall<T>(def: AnyDef, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ProviderError) {
      if (err.kind === 'unauthorized' || err.kind === 'not_found' || err.kind === 'invalid_request') {
        throw new AppError('channel_credentials_rejected', `${def.displayName} rejected the credentials: ${err.message}`, { details: { provider_code: err.providerCode } });
      }
      // The provider answered: the line is not paired (stopping or logging out an UltraMsg instance
      // that waits for its QR scan). Not an outage (502), a state the caller can act on.
      if (err.kind === 'session_not_ready') throw new AppError('session_not_ready', `${def.displayName}: ${err.message}`);
      throw new AppError('channel_unreachable', `${def.displayName} could not be reached: ${err.message}`);
    }
    throw err;
  }
}

function seal(ctx: AppContext, def: AnyDef, tenantId: string, channelId: string, creds: Record<string, unknown>) {
  const secrets = secretNames(def);
  const secret: Record<string, unknown> = {};
  const settings: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(creds)) (secrets.has(k) ? secret : settings)[k] = v;
  return { secrets_enc: ctx.vault.encrypt(JSON.stringify(secret), { tenantId, recordId: channelId }), settings };
}

/** Decrypted credentials of a channel, for adapters. Never log or return the result. */
export function openCredentials(ctx: AppContext, c: { tenant_id: string; id: string; secrets_enc: string; settings: unknown }): Record<string, unknown> {
  const secret = JSON.parse(ctx.vault.decrypt(c.secrets_enc, { tenantId: c.tenant_id, recordId: c.id })) as Record<string, unknown>;
  return { ...(c.settings as Record<string, unknown>), ...secret };
}

/** A stored channel as its adapter takes it (decrypted credentials: never log or return them). */
export const channelRef = <C = Record<string, unknown>>(ctx: AppContext, row: ChannelRow): ChannelRef<C> =>
  ({ tenantId: row.tenant_id, channelId: row.id, credentials: openCredentials(ctx, row) as C });

const lineTaken = (provider: string, externalId: string) => new AppError('external_id_taken', `another channel already uses ${provider} line ${externalId}`);

/**
 * Runs `fn` — which points the provider's webhooks at a channel and stores it — for one line at a
 * time across tenants, and only for a line no other channel holds. Pointing the webhooks is not
 * harmless: a WAHA session's Switchboard webhooks and an UltraMsg instance's webhook URL are
 * replaced, so a create refused as a duplicate *after* it had run took the line's inbound away from
 * the channel that owns it (review of 2026-12-01). A taken line is still told only after the
 * credentials proved themselves (a read-only connection test), so nobody learns which lines others
 * own by naming them with made-up credentials. The lock is a transaction of its own, held while the
 * provider is called (channel creates and moves are rare).
 */
async function onFreeLine<T>(ctx: AppContext, def: AnyDef, ref: { tenantId: string; channelId: string; credentials: unknown }, externalId: string, fn: () => Promise<T>): Promise<T> {
  return ctx.db.transaction().execute(async (lock) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`line:${def.id}:${externalId}`}, 0))`.execute(lock);
    const { rows } = await sql<{ taken: boolean }>`select sb_external_id_taken(${def.id}, ${externalId}, ${ref.channelId}) as taken`.execute(lock);
    if (rows[0]?.taken) {
      await testConnection(ctx, def, ref);
      throw lineTaken(def.id, externalId);
    }
    // Held until `fn` has stored the channel: no other create or move of the line runs meanwhile,
    // so `fn` needs no check of its own (the unique index stays the last word).
    return fn();
  });
}

async function assertChannelRoom(tx: Tx, tenantId: TenantId): Promise<void> {
  const limits = await effectiveLimits(tx, tenantId);
  if (limits.max_channels === null) return;
  const { count } = await tx.selectFrom('channels').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
  if (Number(count) >= limits.max_channels) throw new AppError('plan_limit_reached', `the plan allows ${limits.max_channels} channels`);
}

export async function createChannel(ctx: AppContext, actor: Actor, tenantId: TenantId, p: ChannelInput) {
  const def = ctx.providers.definition(p.provider);
  // A sandbox channel with no credentials is a line on the built-in sandbox.
  const given = def.id === 'sandbox' && Object.keys(p.credentials).length === 0 ? newSandboxCredentials(BUILTIN_SANDBOX_URL) : p.credentials;
  const creds = validateCredentials(def, given);
  await checkUrls(ctx, def, creds);
  const externalId = def.credentials.externalId(creds);
  const id = newId('chn');
  const webhookToken = randomBytes(24).toString('base64url');
  // The plan's room first, so a doomed request never reaches the provider.
  await withTenant(ctx.db, tenantId, (tx) => assertChannelRoom(tx, tenantId));
  const ref = { tenantId, channelId: id, credentials: creds };
  return onFreeLine(ctx, def, ref, externalId, async () => {
    const health = await connect(ctx, def, ref, webhookToken);
    const sealed = seal(ctx, def, tenantId, id, creds);
    return withTenant(ctx.db, tenantId, async (tx) => {
      // Again, under the tenant's channel lock: concurrent creates each passed the check above while
      // the others were testing their connections, and all got in past max_channels.
      await sql`select pg_advisory_xact_lock(hashtextextended(${`channels:${tenantId}`}, 0))`.execute(tx);
      await assertChannelRoom(tx, tenantId);
      let row: ChannelRow;
      try {
        row = (await tx
          .insertInto('channels')
          .values({
            tenant_id: tenantId,
            id,
            name: p.name,
            provider: def.id,
            external_id: externalId,
            secrets_enc: sealed.secrets_enc,
            settings: JSON.stringify(sealed.settings),
            webhook_token: webhookToken,
            rate_per_second: p.rate_per_second ?? def.rateDefaults.perSecond,
            burst: p.burst ?? def.rateDefaults.burst,
            daily_limit: p.daily_limit ?? null,
            health: JSON.stringify({ ok: true, checked_at: ctx.clock.now().toISOString(), detail: health.detail ?? null }),
          })
          .returningAll()
          .executeTakeFirstOrThrow()) as ChannelRow;
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw lineTaken(def.id, externalId);
        throw err;
      }
      await audit(tx, { tenantId, actor, action: 'channel.created', targetType: 'channel', targetId: id, details: { name: p.name, provider: def.id, external_id: externalId } });
      return channelView(ctx, row);
    });
  });
}

export async function findChannel(tx: Tx, id: string): Promise<ChannelRow> {
  const row = await tx.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('channel');
  return row as ChannelRow;
}

export const listChannels = (ctx: AppContext, tenantId: TenantId, limit: number, before?: string) =>
  withTenant(ctx.db, tenantId, async (tx) => {
    let q = tx.selectFrom('channels').selectAll().orderBy('id', 'desc').limit(limit + 1);
    if (before) q = q.where('id', '<', before);
    return (await q.execute()) as ChannelRow[];
  });

export const getChannel = (ctx: AppContext, tenantId: TenantId, id: string) =>
  withTenant(ctx.db, tenantId, async (tx) => channelView(ctx, await findChannel(tx, id)));

export interface ChannelPatch {
  name?: string;
  status?: 'active' | 'disabled';
  credentials?: Record<string, unknown>;
  rate_per_second?: number;
  burst?: number;
  daily_limit?: number | null;
}

export async function updateChannel(ctx: AppContext, actor: Actor, tenantId: TenantId, id: string, patch: ChannelPatch) {
  const current = await withTenant(ctx.db, tenantId, (tx) => findChannel(tx, id));
  const def = ctx.providers.definition(current.provider);
  let sealed: { secrets_enc: string; settings: Record<string, unknown> } | undefined;
  let externalId = current.external_id;
  if (patch.credentials) {
    // Secret fields left out (or sent back masked) keep their stored value — unless the change points
    // the channel somewhere else (an address or the line): the stored secrets would then be sent,
    // in the connection test, to wherever the new address says, and anyone with channels:write
    // could read them there. Then every secret is sent anew.
    const stored = openCredentials(ctx, current);
    const given = Object.fromEntries(Object.entries(patch.credentials).filter(([, v]) => v !== MASK));
    const merged = { ...stored, ...given };
    const creds = validateCredentials(def, merged);
    await checkUrls(ctx, def, creds);
    externalId = def.credentials.externalId(creds);
    const moved = def.credentials.fields.filter((f) => f.kind === 'url' && creds[f.name] !== stored[f.name]).map((f) => f.name);
    if (externalId !== current.external_id) moved.push('the line');
    const kept = def.credentials.fields.filter((f) => f.secret && f.name in stored && !(f.name in given)).map((f) => f.name);
    if (moved.length > 0 && kept.length > 0) {
      throw new AppError('validation_failed', `changing ${moved.join(', ')} needs every secret sent again: ${kept.join(', ')}`, {
        details: { errors: kept.map((name) => ({ path: `/credentials/${name}`, message: 'required when the address or line changes' })) },
      });
    }
    sealed = seal(ctx, def, tenantId, id, creds);
    // A session provider's new address or session gets its webhooks pointed here again — for a move
    // to another line, only when it is free, and held free until the change is saved.
    const ref = { tenantId, channelId: id, credentials: creds };
    const reconnected = () => connect(ctx, def, ref, current.webhook_token);
    if (externalId === current.external_id) await reconnected();
    else return onFreeLine(ctx, def, ref, externalId, async () => {
      await reconnected();
      return save();
    });
  }
  return save();

  function save() {
    return withTenant(ctx.db, tenantId, async (tx) => {
      let row: ChannelRow | undefined;
      try {
        row = (await tx
          .updateTable('channels')
          .set({
            ...(patch.name !== undefined ? { name: patch.name } : {}),
            ...(patch.status !== undefined ? { status: patch.status } : {}),
            ...(patch.rate_per_second !== undefined ? { rate_per_second: patch.rate_per_second } : {}),
            ...(patch.burst !== undefined ? { burst: patch.burst } : {}),
            ...(patch.daily_limit !== undefined ? { daily_limit: patch.daily_limit } : {}),
            ...(sealed ? { secrets_enc: sealed.secrets_enc, settings: JSON.stringify(sealed.settings), external_id: externalId } : {}),
            updated_at: new Date(),
          })
          .where('id', '=', id)
          // Credentials were merged with the row as read before the connection test: written only if
          // nobody changed them meanwhile, or one of two concurrent PATCHes is silently lost.
          .$if(sealed !== undefined, (q) => q.where('secrets_enc', '=', current.secrets_enc).where(sql<boolean>`settings = ${JSON.stringify(current.settings)}::jsonb`))
          .returningAll()
          .executeTakeFirst()) as ChannelRow | undefined;
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw lineTaken(def.id, externalId);
        throw err;
      }
      if (!row) {
        await findChannel(tx, id); // gone: 404
        throw new AppError('conflict', "the channel's credentials changed while this change was tested; read it again and retry");
      }
      const { credentials: _c, ...rest } = patch;
      await audit(tx, { tenantId, actor, action: 'channel.updated', targetType: 'channel', targetId: id, details: { ...rest, connection_changed: Boolean(patch.credentials) } });
      return channelView(ctx, row);
    });
  }
}

/**
 * Deletes the channel and what hangs from it, then takes its webhook off the provider's session
 * (WAHA, UltraMsg), which would otherwise post the line's traffic to a dead address for good (review
 * of 2026-12-01). The session itself and the phone's pairing stay: the line may be used elsewhere.
 * Best effort: a provider that does not answer leaves the webhook, and the delete stands (logged).
 */
export async function deleteChannel(ctx: AppContext, actor: Actor, tenantId: TenantId, id: string): Promise<void> {
  const row = await withTenant(ctx.db, tenantId, async (tx) => {
    const row = await findChannel(tx, id);
    await tx.deleteFrom('channels').where('id', '=', id).execute();
    await audit(tx, { tenantId, actor, action: 'channel.deleted', targetType: 'channel', targetId: id, details: { name: row.name, provider: row.provider } });
    return row;
  });
  const session = ctx.providers.adapter(row.provider).session;
  if (!session) return;
  await session
    .unhook(channelRef(ctx, row), { webhookUrl: webhookUrlOf(publicBaseUrl(ctx.config), row.provider, row.webhook_token) })
    .catch((err: unknown) => ctx.logger.warn({ err: (err as Error)?.message, channel_id: id }, "the deleted channel's webhook could not be taken off its provider session"));
}

/** Health check on demand (and from the periodic checker): stores and returns the result. */
export async function checkChannelHealth(ctx: AppContext, tenantId: TenantId, id: string) {
  const row = await withTenant(ctx.db, tenantId, (tx) => findChannel(tx, id));
  const def = ctx.providers.definition(row.provider);
  let health: Record<string, unknown>;
  try {
    const r = await testConnection(ctx, def, channelRef(ctx, row));
    health = { ok: true, checked_at: ctx.clock.now().toISOString(), detail: r.detail ?? null };
  } catch (err) {
    const e = err as AppError;
    health = { ok: false, checked_at: ctx.clock.now().toISOString(), code: e.code ?? 'internal_error', detail: e.message };
  }
  return withTenant(ctx.db, tenantId, async (tx) => {
    const updated = (await tx.updateTable('channels').set({ health: JSON.stringify(health) }).where('id', '=', id).returningAll().executeTakeFirst()) as ChannelRow | undefined;
    if (!updated) throw notFound('channel'); // deleted while its connection was tested
    return channelView(ctx, updated);
  });
}
