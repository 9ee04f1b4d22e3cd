import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { asTenantId, withTenant, type Tx } from '../db/db.js';
import type { RawWebhook } from '../providers/types.js';
import { applyEvent } from './apply.js';
import './schema.js';

/** After this many failed processing attempts a row is parked as rejected (a bug, not bad input). */
const MAX_ATTEMPTS = 5;
const DRAIN_PARALLEL = 4;

/**
 * Turns one committed inbox row into messages, conversations and events, in one tenant
 * transaction. Idempotent: the row is locked (SKIP LOCKED: a second processor skips it), processed
 * once, and every provider event passes the per-channel dedupe table, so a redelivered webhook
 * stored as a second row creates nothing new. Returns false when the row was not pending.
 */
export async function processInboxRow(ctx: AppContext, tenantId: string, inboxId: string): Promise<boolean> {
  return withTenant(ctx.db, asTenantId(tenantId), async (tx) => {
    const row = await tx.selectFrom('inbox').selectAll().where('id', '=', inboxId).where('status', '=', 'pending').forUpdate().skipLocked().executeTakeFirst();
    if (!row) return false;
    const channel = await tx.selectFrom('channels').select(['id', 'external_id', 'provider']).where('id', '=', row.channel_id).executeTakeFirst();
    if (!channel) {
      await finish(tx, inboxId, 'rejected', 'channel no longer exists');
      return true;
    }
    const raw: RawWebhook = { headers: row.headers, body: row.body, query: {} };
    const parsed = ctx.providers.definition(row.provider).webhook.parse(raw);
    if (!parsed.ok) {
      ctx.logger.info({ tenant_id: tenantId, channel_id: channel.id, inbox_id: inboxId, reason: parsed.reason }, 'inbound payload rejected by parser');
      await finish(tx, inboxId, 'rejected', `${parsed.reason}: ${parsed.detail}`.slice(0, 500));
      return true;
    }
    for (const ev of parsed.events) {
      // Cloud API rows are routed by phone_number_id; an event of another line in the same body is
      // never filed under this channel (split rows hold only this line's changes anyway).
      if (row.provider === 'cloud-api' && ev.externalId !== channel.external_id) continue;
      await applyEvent(tx, { tenantId, channelId: channel.id }, ev);
    }
    await finish(tx, inboxId, 'done', null);
    return true;
  });
}

async function finish(tx: Tx, id: string, status: 'done' | 'rejected', error: string | null): Promise<void> {
  await tx.updateTable('inbox').set({ status, error, processed_at: new Date() }).where('id', '=', id).execute();
}

/** Claims up to `limit` pending rows across tenants (leased) and processes them. Returns how many. */
export async function drainInbox(ctx: AppContext, limit = 100): Promise<number> {
  const { rows } = await sql<{ tenant_id: string; id: string; attempts: number }>`select c.tenant_id, c.id from sb_inbox_claim(${limit}, 30000) c`.execute(ctx.db);
  let n = 0;
  let next = 0;
  // A few rows at once: each is a chain of short round trips, so one at a time leaves PostgreSQL
  // idle between them; DRAIN_PARALLEL stays well under the pool so requests keep connections.
  await Promise.all(Array.from({ length: Math.min(DRAIN_PARALLEL, rows.length) }, async () => {
    for (let r = rows[next++]; r; r = rows[next++]) {
      try {
        if (await processInboxRow(ctx, r.tenant_id, r.id)) n += 1;
      } catch (err) {
        ctx.logger.error({ err, tenant_id: r.tenant_id, inbox_id: r.id }, 'inbox row processing failed');
        await parkIfExhausted(ctx, r.tenant_id, r.id, err);
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
 * "visible through the API" is one transaction, not a worker poll interval. Bounded: at most
 * CONCURRENCY rows at once (each holds a pooled connection for its transaction; unbounded, a burst of
 * 300 webhooks took every connection and starved the acknowledge path's inserts past the pool's 5 s
 * connect timeout) and at most QUEUE waiting; beyond that rows stay pending for the worker. Best
 * effort: a failure leaves the row pending. `idle()` lets shutdown wait for in-flight work.
 */
const CONCURRENCY = 4;
const QUEUE = 5_000;

export class InlineProcessor {
  private readonly queue: { tenantId: string; id: string }[] = [];
  private running = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(private readonly ctx: AppContext) {}

  kick(rows: { tenantId: string; id: string }[]): void {
    for (const r of rows) if (this.queue.length < QUEUE) this.queue.push(r);
    while (this.running < CONCURRENCY && this.queue.length > 0) void this.run();
  }

  private async run(): Promise<void> {
    this.running += 1;
    try {
      for (let r = this.queue.shift(); r; r = this.queue.shift()) {
        await processInboxRow(this.ctx, r.tenantId, r.id).catch((err: unknown) =>
          this.ctx.logger.warn({ err: (err as Error)?.message, inbox_id: r!.id }, 'inline processing failed; the worker will retry'));
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
