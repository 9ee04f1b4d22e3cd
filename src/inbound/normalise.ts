import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { asTenantId, withTenant, type Tx } from '../db/db.js';
import type { RawWebhook } from '../providers/types.js';
import { applyEvent } from './apply.js';
import { applyReceivedBatch } from './apply-batch.js';
import type { InboundEvent } from '../core/canonical.js';
import './schema.js';

/** After this many failed processing attempts a row is parked as rejected (a bug, not bad input). */
const MAX_ATTEMPTS = 5;
const DRAIN_PARALLEL = 4;

/**
 * Turns committed inbox rows of one tenant into messages, conversations and events, in one tenant
 * transaction (a batch shares BEGIN/COMMIT and the commit's WAL flush, which dominated per-row cost
 * on the bench). Idempotent: rows are locked with SKIP LOCKED (a concurrent processor skips them),
 * processed once, and every provider event passes the per-channel dedupe table, so a redelivered
 * webhook stored as a second row creates nothing new. Returns how many rows it processed.
 */
export async function processInboxRows(ctx: AppContext, tenantId: string, inboxIds: string[]): Promise<number> {
  if (inboxIds.length === 0) return 0;
  return withTenant(ctx.db, asTenantId(tenantId), async (tx) => {
    const rows = await tx.selectFrom('inbox').selectAll().where('id', 'in', inboxIds).where('status', '=', 'pending').orderBy('id').forUpdate().skipLocked().execute();
    if (rows.length === 0) return 0;
    const channelIds = [...new Set(rows.map((r) => r.channel_id))];
    const channels = new Map((await tx.selectFrom('channels').select(['id', 'external_id']).where('id', 'in', channelIds).execute()).map((c) => [c.id, c]));
    const done: string[] = [];
    const received: { channelId: string; ev: Extract<InboundEvent, { kind: 'message.received' }> }[] = [];
    const later: { channelId: string; ev: InboundEvent }[] = [];
    for (const row of rows) {
      const channel = channels.get(row.channel_id);
      if (!channel) {
        await finish(tx, [row.id], 'rejected', 'channel no longer exists');
        continue;
      }
      const raw: RawWebhook = { headers: row.headers, body: row.body, query: {} };
      const parsed = ctx.providers.definition(row.provider).webhook.parse(raw);
      if (!parsed.ok) {
        ctx.logger.info({ tenant_id: tenantId, channel_id: channel.id, inbox_id: row.id, reason: parsed.reason }, 'inbound payload rejected by parser');
        await finish(tx, [row.id], 'rejected', `${parsed.reason}: ${parsed.detail}`.slice(0, 500));
        continue;
      }
      for (const ev of parsed.events) {
        // Cloud API rows are routed by phone_number_id; an event of another line in the same body
        // is never filed under this channel (split rows hold only this line's changes anyway).
        if (row.provider === 'cloud-api' && ev.externalId !== channel.external_id) continue;
        if (ev.kind === 'message.received') received.push({ channelId: channel.id, ev });
        else later.push({ channelId: channel.id, ev });
      }
      done.push(row.id);
    }
    // Messages first (set-based), then statuses etc. in arrival order, so a status in the same
    // batch as the message it is about finds it.
    await applyReceivedBatch(tx, tenantId, received);
    for (const l of later) await applyEvent(tx, { tenantId, channelId: l.channelId }, l.ev);
    await finish(tx, done, 'done', null);
    return rows.length;
  });
}

/** One row; false when it was not pending. */
export const processInboxRow = async (ctx: AppContext, tenantId: string, inboxId: string): Promise<boolean> =>
  (await processInboxRows(ctx, tenantId, [inboxId])) > 0;

/**
 * A batch, and if the batch fails, each row alone: one poisoned row (a bug) must not hold back the
 * others, and only it accumulates attempts until it is parked.
 */
async function processBatch(ctx: AppContext, tenantId: string, ids: string[]): Promise<number> {
  try {
    return await processInboxRows(ctx, tenantId, ids);
  } catch (err) {
    if (ids.length === 1) throw err;
    let n = 0;
    for (const id of ids) {
      try {
        if (await processInboxRow(ctx, tenantId, id)) n += 1;
      } catch (e) {
        ctx.logger.error({ err: e, tenant_id: tenantId, inbox_id: id }, 'inbox row processing failed');
        await parkIfExhausted(ctx, tenantId, id, e);
      }
    }
    return n;
  }
}

const BATCH = 25;
/** Groups rows by tenant into batches of at most BATCH. */
function batches(rows: { tenantId: string; id: string }[]): { tenantId: string; ids: string[] }[] {
  const by = new Map<string, string[]>();
  for (const r of rows) by.set(r.tenantId, [...(by.get(r.tenantId) ?? []), r.id]);
  const out: { tenantId: string; ids: string[] }[] = [];
  for (const [tenantId, ids] of by) for (let i = 0; i < ids.length; i += BATCH) out.push({ tenantId, ids: ids.slice(i, i + BATCH) });
  return out;
}

async function finish(tx: Tx, ids: string[], status: 'done' | 'rejected', error: string | null): Promise<void> {
  if (ids.length === 0) return;
  await tx.updateTable('inbox').set({ status, error, processed_at: new Date() }).where('id', 'in', ids).execute();
}

/** Claims up to `limit` pending rows across tenants (leased) and processes them. Returns how many. */
export async function drainInbox(ctx: AppContext, limit = 100): Promise<number> {
  const { rows } = await sql<{ tenant_id: string; id: string; attempts: number }>`select c.tenant_id, c.id from sb_inbox_claim(${limit}, 30000) c`.execute(ctx.db);
  let n = 0;
  const work = batches(rows.map((r) => ({ tenantId: r.tenant_id, id: r.id })));
  let next = 0;
  // A few batches at once: each is a chain of short round trips, so one at a time leaves PostgreSQL
  // idle between them; DRAIN_PARALLEL stays well under the pool so requests keep connections.
  await Promise.all(Array.from({ length: Math.min(DRAIN_PARALLEL, work.length) }, async () => {
    for (let b = work[next++]; b; b = work[next++]) {
      try {
        n += await processBatch(ctx, b.tenantId, b.ids);
      } catch (err) {
        ctx.logger.error({ err, tenant_id: b.tenantId, inbox_id: b.ids[0] }, 'inbox row processing failed');
        await parkIfExhausted(ctx, b.tenantId, b.ids[0]!, err);
      }
    }
  }));
  return n;
}

async function parkIfExhausted(ctx: AppContext, tenantId: string, id: string, err: unknown): Promise<void> {
  await withTenant(ctx.db, asTenantId(tenantId), (tx) =>
    tx.updateTable('inbox').set({ status: 'rejected', error: `processing failed: ${String((err as Error)?.message ?? err).slice(0, 300)}`, processed_at: new Date() })
      .where('id', '=', id).where('attempts', '>=', MAX_ATTEMPTS).execute(),
  ).catch(() => undefined);
}

/**
 * Processes freshly acknowledged rows right away in this process, so the lag from acknowledge to
 * "visible through the API" is one transaction, not a worker poll interval. Bounded: at most a
 * third of the pool's connections at once (each holds a pooled connection for its transaction; unbounded, a burst of
 * 300 webhooks took every connection and starved the acknowledge path's inserts past the pool's 5 s
 * connect timeout) and at most QUEUE waiting; beyond that rows stay pending for the worker. Best
 * effort: a failure leaves the row pending. `idle()` lets shutdown wait for in-flight work.
 */
const QUEUE = 5_000;

export class InlineProcessor {
  private readonly queue: { tenantId: string; id: string }[] = [];
  private running = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(private readonly ctx: AppContext) {}

  kick(rows: { tenantId: string; id: string }[]): void {
    for (const r of rows) if (this.queue.length < QUEUE) this.queue.push(r);
    // A third of the pool: the acknowledge path and the worker keep the rest.
    const concurrency = Math.max(1, Math.floor(this.ctx.config.dbPoolSize / 3));
    while (this.running < concurrency && this.queue.length > 0) void this.run();
  }

  private async run(): Promise<void> {
    this.running += 1;
    try {
      while (this.queue.length > 0) {
        // The oldest row's tenant, with whatever else of that tenant queued meanwhile (among the
        // next 200): batches grow with the load, and stay one tenant per transaction.
        const tenantId = this.queue[0]!.tenantId;
        const ids: string[] = [];
        for (let i = 0; i < Math.min(this.queue.length, 200) && ids.length < BATCH; ) {
          if (this.queue[i]!.tenantId === tenantId) ids.push(this.queue.splice(i, 1)[0]!.id);
          else i++;
        }
        await processBatch(this.ctx, tenantId, ids).catch((err: unknown) =>
          this.ctx.logger.warn({ err: (err as Error)?.message, inbox_id: ids[0] }, 'inline processing failed; the worker will retry'));
      }
    } finally {
      this.running -= 1;
      if (this.running === 0) for (const w of this.waiters.splice(0)) w();
    }
  }

  idle(): Promise<void> {
    return this.running === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}
