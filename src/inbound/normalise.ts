import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { asTenantId, withTenant, type Tx } from '../db/db.js';
import type { ProviderDefinition, RawWebhook } from '../providers/types.js';
import { applyEvent } from './apply.js';
import { applyReceivedBatch } from './apply-batch.js';
import { ingestReceived } from './ingest-received.js';
import type { InboundEvent } from '../core/canonical.js';
import './schema.js';

/** After this many failed processing attempts a row is parked as rejected (a bug, not bad input). */
const MAX_ATTEMPTS = 5;
const DRAIN_PARALLEL = 4;

/**
 * Whether an event names the line of the channel its row was routed to (the provider's `eventLine`).
 * A Cloud API body may hold changes of several lines, and a WAHA server may post one session's
 * events to another session's channel URL: such events are never filed under this channel.
 */
export function namesLine(def: Pick<ProviderDefinition<unknown>, 'credentials'>, eventLine: string, channelLine: string): boolean {
  return def.credentials.eventLine === undefined || def.credentials.eventLine(channelLine) === eventLine;
}

/** An inbox row as ingress wrote it: the inline processor has it in memory and skips re-reading it. */
export interface InboxItem {
  tenantId: string;
  id: string;
  channelId: string;
  /** The line's own id at the provider (Cloud API: phone_number_id), from routing. */
  externalId: string;
  provider: string;
  body: Buffer;
  headers: Record<string, string>;
}

type Row = Omit<InboxItem, 'tenantId' | 'externalId'>;

/**
 * Turns committed inbox rows of one tenant into messages, conversations and events, in one tenant
 * transaction (a batch shares BEGIN/COMMIT and the commit's WAL flush, which dominated per-row cost
 * on the bench). Idempotent: rows are locked with SKIP LOCKED (a concurrent processor skips them),
 * processed once, and every provider event passes the per-channel dedupe table, so a redelivered
 * webhook stored as a second row creates nothing new. A processed row is deleted in the same
 * transaction (its content now lives in messages and events; rows the parser refused stay, marked
 * `rejected`, for inspection). `loaded` carries the rows' bodies when the caller has them (ingress),
 * so only their locks are read. Returns how many rows it processed.
 */
export async function processInboxRows(ctx: AppContext, tenantId: string, inboxIds: string[], loaded?: Map<string, Row>): Promise<number> {
  if (inboxIds.length === 0) return 0;
  return withTenant(ctx.db, asTenantId(tenantId), async (tx) => {
    // Each row locked through its primary key, the pending ones kept (see sb_ingest_received on why
    // never through the status index); bodies read only when the caller does not have them.
    const { rows: locked } = await sql<{ id: string; channel_id: string; provider: string; body: Buffer | null; headers: Record<string, string> | null }>`
      select x.id, x.channel_id, x.provider, ${loaded ? sql`null::bytea` : sql`x.body`} as body, ${loaded ? sql`null::jsonb` : sql`x.headers`} as headers
      from (select id from unnest(${[...inboxIds].sort()}::text[]) as u(id) order by id) u
      cross join lateral (select x.* from inbox x where x.tenant_id = ${tenantId} and x.id = u.id limit 1 for update skip locked) x
      where x.status = 'pending'`.execute(tx);
    const rows: Row[] = locked.map((r) => loaded?.get(r.id) ?? { id: r.id, channelId: r.channel_id, provider: r.provider, body: r.body!, headers: r.headers! });
    if (rows.length === 0) return 0;
    const channelIds = [...new Set(rows.map((r) => r.channelId))];
    const channels = new Map((await tx.selectFrom('channels').select(['id', 'external_id']).where('id', 'in', channelIds).execute()).map((c) => [c.id, c]));
    const done: string[] = [];
    const received: { channelId: string; ev: Extract<InboundEvent, { kind: 'message.received' }> }[] = [];
    const later: { channelId: string; ev: InboundEvent }[] = [];
    for (const row of rows) {
      const channel = channels.get(row.channelId);
      if (!channel) {
        await finish(tx, tenantId, [row.id], 'rejected', 'channel no longer exists');
        continue;
      }
      const raw: RawWebhook = { headers: row.headers, body: row.body, query: {} };
      const def = ctx.providers.definition(row.provider);
      const parsed = def.webhook.parse(raw);
      if (!parsed.ok) {
        ctx.logger.info({ tenant_id: tenantId, channel_id: channel.id, inbox_id: row.id, reason: parsed.reason }, 'inbound payload rejected by parser');
        await finish(tx, tenantId, [row.id], 'rejected', `${parsed.reason}: ${parsed.detail}`.slice(0, 500));
        continue;
      }
      let filed = 0;
      for (const ev of parsed.events) {
        if (!namesLine(def, ev.externalId, channel.external_id)) continue;
        filed += 1;
        if (ev.kind === 'message.received') received.push({ channelId: channel.id, ev });
        else later.push({ channelId: channel.id, ev });
      }
      if (filed === 0 && parsed.events.length > 0) {
        // Every event names another line than the channel's: routed here just before the channel's
        // line changed, or a WAHA session's body posted to another session's channel URL. Kept
        // (rejected) for the operator, never silently dropped.
        ctx.logger.warn({ tenant_id: tenantId, channel_id: channel.id, inbox_id: row.id }, 'inbound row names another line than its channel now has; kept as rejected');
        await finish(tx, tenantId, [row.id], 'rejected', `its events name another line than the channel's (${channel.external_id}): a line moved after routing, or a WAHA body of another session`);
        continue;
      }
      done.push(row.id);
    }
    // Messages first (set-based), then statuses etc. in arrival order, so a status in the same
    // batch as the message it is about finds it.
    await applyReceivedBatch(tx, tenantId, received);
    for (const l of later) await applyEvent(tx, { tenantId, channelId: l.channelId }, l.ev);
    await finish(tx, tenantId, done, 'done', null);
    return rows.length;
  });
}

/** One row; false when it was not pending. */
export const processInboxRow = async (ctx: AppContext, tenantId: string, inboxId: string, loaded?: Map<string, Row>): Promise<boolean> =>
  (await processInboxRows(ctx, tenantId, [inboxId], loaded)) > 0;

/**
 * A batch, and if the batch fails, each row alone: one poisoned row (a bug) must not hold back the
 * others, and only it accumulates attempts until it is parked.
 */
export async function processBatch(ctx: AppContext, tenantId: string, ids: string[], loaded?: Map<string, Row>): Promise<number> {
  try {
    return await processInboxRows(ctx, tenantId, ids, loaded);
  } catch (err) {
    if (ids.length === 1) throw err;
    let n = 0;
    for (const id of ids) {
      try {
        if (await processInboxRow(ctx, tenantId, id, loaded)) n += 1;
      } catch (e) {
        ctx.logger.error({ err: e, tenant_id: tenantId, inbox_id: id }, 'inbox row processing failed');
        await parkIfExhausted(ctx, tenantId, id, e);
      }
    }
    return n;
  }
}

const BATCH = 250;
/** Groups rows by tenant into batches of at most BATCH. */
function batches(rows: { tenantId: string; id: string }[]): { tenantId: string; ids: string[] }[] {
  const by = new Map<string, string[]>();
  for (const r of rows) by.set(r.tenantId, [...(by.get(r.tenantId) ?? []), r.id]);
  const out: { tenantId: string; ids: string[] }[] = [];
  for (const [tenantId, ids] of by) for (let i = 0; i < ids.length; i += BATCH) out.push({ tenantId, ids: ids.slice(i, i + BATCH) });
  return out;
}

async function finish(tx: Tx, tenantId: string, ids: string[], status: 'done' | 'rejected', error: string | null): Promise<void> {
  if (ids.length === 0) return;
  if (status === 'done') await sql`delete from inbox where tenant_id = ${tenantId} and id = any(${ids})`.execute(tx);
  else await tx.updateTable('inbox').set({ status, error, processed_at: new Date() }).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
}

/** Rows younger than this are left to the inline processor of the process that acknowledged them. */
export const WORKER_MIN_AGE_MS = 2_000;

/**
 * Claims up to `limit` pending rows across tenants (leased) and processes them. Returns how many.
 * Only rows older than `minAgeMs`: younger ones are the inline processor's (the worker is the
 * safety net for rows a process acknowledged and then did not finish: a crash, a full queue).
 */
export async function drainInbox(ctx: AppContext, limit = 100, minAgeMs = WORKER_MIN_AGE_MS): Promise<number> {
  const { rows } = await sql<{ tenant_id: string; id: string; attempts: number }>`select c.tenant_id, c.id from sb_inbox_claim(${limit}, 30000, ${minAgeMs}) c`.execute(ctx.db);
  let n = 0;
  const work = batches(rows.map((r) => ({ tenantId: r.tenant_id, id: r.id })));
  let next = 0;
  // A few batches at once: each is a chain of short round trips, so one at a time leaves PostgreSQL
  // idle between them; DRAIN_PARALLEL stays well under the pool so requests keep connections.
  await Promise.all(Array.from({ length: Math.min(DRAIN_PARALLEL, work.length) }, async () => {
    for (let b = work[next++]; b; b = work[next++]) {
      try {
        // New messages through the one-call fast path, like the inline processor; the rest the
        // general way, from the bodies already read (it only locks what is still pending).
        const items = await loadItems(ctx, b.tenantId, b.ids);
        const general = await ingestReceived(ctx, b.tenantId, items);
        n += items.length - general.length;
        if (general.length > 0) n += await processBatch(ctx, b.tenantId, general.map((r) => r.id), new Map(general.map((r) => [r.id, r])));
        // Rows loadItems did not return (their channel is gone) are settled by the general path.
        const loaded = new Set(items.map((r) => r.id));
        const unloaded = b.ids.filter((id) => !loaded.has(id));
        if (unloaded.length > 0) n += await processBatch(ctx, b.tenantId, unloaded);
      } catch (err) {
        ctx.logger.error({ err, tenant_id: b.tenantId, inbox_id: b.ids[0] }, 'inbox row processing failed');
        await parkIfExhausted(ctx, b.tenantId, b.ids[0]!, err);
      }
    }
  }));
  return n;
}

/** Pending rows with their line's external id, as ingress would have handed them over. */
async function loadItems(ctx: AppContext, tenantId: string, ids: string[]): Promise<InboxItem[]> {
  const rows = await withTenant(ctx.db, asTenantId(tenantId), (tx) =>
    tx.selectFrom('inbox').innerJoin('channels', (j) => j.onRef('channels.tenant_id', '=', 'inbox.tenant_id').onRef('channels.id', '=', 'inbox.channel_id'))
      .select(['inbox.id', 'inbox.channel_id', 'inbox.provider', 'inbox.body', 'inbox.headers', 'channels.external_id'])
      .where('inbox.id', 'in', ids).execute());
  return rows.map((r) => ({ tenantId, id: r.id, channelId: r.channel_id, externalId: r.external_id, provider: r.provider, body: r.body, headers: r.headers }));
}

async function parkIfExhausted(ctx: AppContext, tenantId: string, id: string, err: unknown): Promise<void> {
  await withTenant(ctx.db, asTenantId(tenantId), (tx) =>
    tx.updateTable('inbox').set({ status: 'rejected', error: `processing failed: ${String((err as Error)?.message ?? err).slice(0, 300)}`, processed_at: new Date() })
      .where('id', '=', id).where('attempts', '>=', MAX_ATTEMPTS).execute(),
  ).catch(() => undefined);
}
