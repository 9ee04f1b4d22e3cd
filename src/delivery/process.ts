import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { openCredentials } from '../channels/service.js';
import type { OutboundContent } from '../core/canonical.js';
import { asTenantId, withTenant, type TenantId, type Tx } from '../db/db.js';
import { applyParkedStatuses, updateOutboundStatus, type OutboundStatus, type StatusError } from '../messages/status.js';
import { decide, type RetryPolicy } from './backoff.js';
import { emitEvent, emitEvents } from '../events/emit.js';
import { Batcher } from './batcher.js';
import { storable } from '../core/text.js';
import './schema.js';

export interface ClaimedJob {
  tenant_id: string;
  message_id: string;
  channel_id: string;
  attempts: number;
}

export interface ProcessDeps {
  worker: string;
  retry: RetryPolicy;
}

interface Loaded {
  message_id: string;
  lease_owner: string | null;
  status: string;
  peer: string;
  content: unknown;
  reply_to: string | null;
  created_at: Date;
  channel_id: string;
  provider: string;
  secrets_enc: string;
  settings: unknown;
  channel_updated_at: Date;
  rate_per_second: number;
}

type Result = { tenantId: TenantId; job: ClaimedJob; channelId: string; at: Date } & (
  | { ok: true; providerMessageId: string }
  | { ok: false; err: unknown; ageMs: number }
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Delivers claimed jobs. Reads and writes happen in each job's tenant transaction (RLS applies to
 * the worker exactly as to the API); provider calls happen between transactions, never inside one,
 * so a slow provider holds no connection. Per claim round: one read transaction per tenant; results
 * are group-committed (`Batcher`). Result writes are fenced on `lease_owner`: a worker that lost its
 * lease does not delete a job someone else now owns, but still records the provider id it got.
 */
export function createProcessor(ctx: AppContext, d: ProcessDeps) {
  /** Decrypted credentials per channel version: a vault decrypt per message would cost CPU per send. */
  const creds = new Map<string, { version: number; value: Record<string, unknown> }>();
  const results = new Batcher<Result>((items) => record(ctx, d, items));
  /**
   * The random pause before a send on a jittered line, measured from its claim and never closer than
   * 1/rate to the line's previous send, by whichever process made it. A pause added after the claim
   * alone let two sends claimed 1.15 s apart reach the provider 0.2 s apart on a 1/s line (review of
   * 2026-12-01): the rate budget spaces claims, the pause then bunched them. The line's next send time
   * lives on its rate bucket (migration 052), so two scheduler processes keep the spacing too. The
   * wait stays bounded (the pause, or the spacing behind a claim of the line's few burst tokens), so
   * no backlog builds up in the process.
   */
  async function jitterWait(tenantId: TenantId, channelId: string, ratePerSecond: number, jitterMs: number): Promise<number> {
    const { rows } = await withTenant(ctx.db, tenantId, (tx) =>
      sql<{ wait_ms: number }>`
        update delivery_buckets set next_send_at = greatest(clock_timestamp() + make_interval(secs => ${(Math.random() * jitterMs) / 1000}),
                                                            next_send_at + make_interval(secs => ${1 / Math.max(ratePerSecond, 0.01)}))
        where tenant_id = ${tenantId} and channel_id = ${channelId}
        returning greatest(0, extract(epoch from next_send_at - clock_timestamp()) * 1000)::float8 as wait_ms`.execute(tx),
    );
    return rows[0]?.wait_ms ?? Math.random() * jitterMs;
  }

  async function load(tenantId: TenantId, jobs: ClaimedJob[]): Promise<Map<string, Loaded>> {
    return withTenant(ctx.db, tenantId, async (tx) => {
      const { rows } = await sql<Loaded>`
        select j.message_id, j.lease_owner, m.status, m.peer, m.content, m.reply_to, m.created_at,
               c.id as channel_id, c.provider, c.secrets_enc, c.settings, c.updated_at as channel_updated_at, c.rate_per_second
        from delivery_jobs j
        join messages m on m.tenant_id = j.tenant_id and m.id = j.message_id
        join channels c on c.tenant_id = j.tenant_id and c.id = j.channel_id
        where j.tenant_id = ${tenantId} and j.message_id = any(${jobs.map((j) => j.message_id)})`.execute(tx);
      const stale = rows.filter((r) => r.lease_owner === d.worker && r.status !== 'queued').map((r) => r.message_id);
      if (stale.length > 0) await sql`delete from delivery_jobs where tenant_id = ${tenantId} and message_id = any(${stale})`.execute(tx);
      return new Map(rows.filter((r) => r.lease_owner === d.worker && r.status === 'queued').map((r) => [r.message_id, r]));
    });
  }

  async function send(tenantId: TenantId, job: ClaimedJob, l: Loaded): Promise<void> {
    const ageMs = ctx.clock.now().getTime() - l.created_at.getTime();
    let r: Result;
    if (ageMs > d.retry.maxAgeMs) {
      r = { tenantId, job, channelId: l.channel_id, at: ctx.clock.now(), ok: false, err: new Error('expired before it could be sent'), ageMs };
    } else {
      try {
        const version = l.channel_updated_at.getTime();
        let c = creds.get(l.channel_id);
        if (!c || c.version !== version) {
          c = { version, value: openCredentials(ctx, { tenant_id: tenantId, id: l.channel_id, secrets_enc: l.secrets_enc, settings: l.settings }) };
          creds.set(l.channel_id, c);
        }
        const def = ctx.providers.definition(l.provider);
        // WhatsApp-Web lines (WAHA, UltraMsg): a random pause makes the cadence look less robotic.
        if (def.rateDefaults.jitterMs > 0) await sleep(await jitterWait(tenantId, l.channel_id, Number(l.rate_per_second), def.rateDefaults.jitterMs));
        const res = await ctx.providers.adapter(l.provider).send(
          { tenantId, channelId: l.channel_id, credentials: c.value },
          { to: l.peer, content: l.content as OutboundContent, ...(l.reply_to ? { replyTo: l.reply_to } : {}), clientRef: l.message_id },
        );
        // Stored as inbound webhooks store ids (parseWebhookJson), so the two still match.
        r = { tenantId, job, channelId: l.channel_id, at: ctx.clock.now(), ok: true, providerMessageId: storable(res.providerMessageId) };
      } catch (err) {
        r = { tenantId, job, channelId: l.channel_id, at: ctx.clock.now(), ok: false, err, ageMs };
      }
    }
    await results.push(r);
  }

  /** One promise per job, in `jobs` order, settled when its outcome is committed (or it was not ours). */
  function processJobs(jobs: ClaimedJob[]): Promise<void>[] {
    const loads = new Map<string, Promise<Map<string, Loaded>>>();
    for (const t of new Set(jobs.map((j) => j.tenant_id))) {
      loads.set(t, load(asTenantId(t), jobs.filter((j) => j.tenant_id === t)));
    }
    return jobs.map((job) =>
      loads.get(job.tenant_id)!.then((m) => {
        const l = m.get(job.message_id);
        return l ? send(asTenantId(job.tenant_id), job, l) : undefined;
      }),
    );
  }

  return { processJobs };
}

async function record(ctx: AppContext, d: ProcessDeps, items: Result[]): Promise<void> {
  const byTenant = new Map<TenantId, Result[]>();
  for (const r of items) byTenant.set(r.tenantId, [...(byTenant.get(r.tenantId) ?? []), r]);
  const write = (tenantId: TenantId, rs: Result[]) =>
    retryOnDeadlock(() => withTenant(ctx.db, tenantId, async (tx) => {
      // Lock every job row of this flush first, in one order, so flushes and claims never deadlock.
      await sql`select 1 from delivery_jobs where tenant_id = ${tenantId} and message_id = any(${rs.map((r) => r.job.message_id)})
        order by message_id for update`.execute(tx);
      const ok = rs.filter((r): r is Result & { ok: true } => r.ok);
      if (ok.length > 0) await recordSent(tx, d, tenantId, ok);
      for (const r of [...rs].sort((a, b) => (a.job.message_id < b.job.message_id ? -1 : 1))) if (!r.ok) await recordFailure(tx, d, tenantId, r);
    }));
  await Promise.all(
    [...byTenant].map(async ([tenantId, rs]) => {
      try {
        await write(tenantId, rs);
      } catch (err) {
        // One result the database refuses must not take the flush with it: its other messages
        // were sent, and unrecorded they would be sent again when their leases run out. Nothing
        // of the flush was written, so each result is written on its own, one after another (the
        // pool is shared with the API, and the database is unhappy already).
        if (rs.length > 1) {
          ctx.logger.error({ err: (err as Error)?.message, tenant_id: tenantId, results: rs.length }, 'delivery results could not be saved together; saving them one by one');
          for (const r of rs) await write(tenantId, [r]).catch((e: unknown) => refused(ctx, d, r, e));
        } else if (rs[0]!.ok && refusedForGood(err)) await refused(ctx, d, rs[0]!, err);
        else throw err;
      }
    }),
  );
}

/**
 * A flush's transaction also locks message rows and rate buckets, which the inbound path (statuses
 * and echoes, in webhook order) and other workers' flushes lock in orders this one cannot choose —
 * in saving successes (an echo being inserted) as in saving failures.
 * PostgreSQL then aborts one of them (40P01); were it this one, every result of the flush would be
 * lost and, once the leases expire, every message of it sent again. So the whole flush runs again:
 * nothing in it has happened yet (decision 045, amended).
 */
async function retryOnDeadlock<T>(run: () => Promise<T>, tries = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if ((code !== '40P01' && code !== '40001') || attempt >= tries) throw err;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
    }
  }
}

/**
 * Every success of one tenant in one statement: job gone, message `sent` (monotonic), change logged.
 *
 * The provider id may already be taken in that channel (unique `messages_provider_id`): a
 * WhatsApp-Web line reports our own send back (UltraMsg `message_create`, WAHA `message.any`) and
 * the inbound path can store that echo as an outbound message of its own before this commit. A
 * violation here would roll back the whole flush and leave its jobs leased, so every message of the
 * flush would be sent again once the leases expire (decision 045). So the statement runs under a
 * savepoint; on that violation the echo rows are merged into our messages (statuses carried over,
 * echo deleted) and it runs again, now leaving out any provider id still held by another row.
 * Retried because an echo committed concurrently only becomes visible after the violation.
 */
async function recordSent(tx: Tx, d: ProcessDeps, tenantId: TenantId, ok: (Result & { ok: true })[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    // One round trip per flush; a savepoint that is never rolled back ends with the commit.
    await sql`savepoint sb_record_sent`.execute(tx);
    try {
      const merged = attempt === 0 ? [] : await mergeEchoes(tx, tenantId, ok);
      await saveSent(tx, d, tenantId, ok, attempt > 0);
      await applyMerged(tx, tenantId, ok, merged);
      return;
    } catch (err) {
      if (!providerIdTaken(err) || attempt >= 2) throw err;
      await sql`rollback to savepoint sb_record_sent`.execute(tx);
    }
  }
}

/**
 * The provider id taken (23505 on messages_provider_id). A deadlock (with the inbound transaction
 * inserting the echo, say) is not handled here: it aborts the flush, which `retryOnDeadlock` runs
 * again whole — and then meets the committed echo as this violation.
 */
function providerIdTaken(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && e.constraint === 'messages_provider_id';
}

interface MergedEcho {
  target: string;
  echo: string;
  status: string;
  delivered_at: Date | null;
  read_at: Date | null;
  failed_at: Date | null;
  error_code: string | null;
  error_detail: string | null;
}

/**
 * Deletes the echo rows holding these results' provider ids and returns what they had reached. An
 * echo row is an outbound message of the same channel that we never attempted (attempts 0, no
 * delivery job) yet carrying a provider id: only the inbound path writes such rows. Any other
 * holder of the id is left alone (see `saveSent`'s tolerant form).
 */
async function mergeEchoes(tx: Tx, tenantId: TenantId, ok: (Result & { ok: true })[]): Promise<MergedEcho[]> {
  const { rows } = await sql<MergedEcho>`
    with r as (select * from unnest(${ok.map((r) => r.job.message_id)}::text[], ${ok.map((r) => r.channelId)}::text[], ${ok.map((r) => r.providerMessageId)}::text[]) as r(id, ch, pid))
    delete from messages e using r
    where e.tenant_id = ${tenantId} and e.channel_id = r.ch and e.provider_message_id = r.pid and e.id <> r.id
      and e.direction = 'out' and e.attempts = 0
      and not exists (select 1 from delivery_jobs j where j.tenant_id = e.tenant_id and j.message_id = e.id)
    returning r.id as target, e.id as echo, e.status, e.delivered_at, e.read_at, e.failed_at, e.error_code, e.error_detail`.execute(tx);
  return rows;
}

/** The one statement of `recordSent`; `tolerant` leaves out provider ids another row still holds. */
async function saveSent(tx: Tx, d: ProcessDeps, tenantId: TenantId, ok: (Result & { ok: true })[], tolerant: boolean): Promise<void> {
  const ids = ok.map((r) => r.job.message_id);
  const seen = new Set<string>();
  // Tolerant: one provider id given twice in a flush (a provider bug) is saved on the first only.
  const pids = ok.map((r) => {
    const k = `${r.channelId}\n${r.providerMessageId}`;
    if (!tolerant) return r.providerMessageId;
    if (seen.has(k)) return null;
    seen.add(k);
    return r.providerMessageId;
  });
  const pid = tolerant
    ? sql`case when exists (select 1 from messages o where o.tenant_id = ${tenantId} and o.channel_id = m.channel_id and o.provider_message_id = r.pid and o.id <> m.id) then null else r.pid end`
    : sql`r.pid`;
  const sent = await sql<{ message_id: string }>`
    with r as (select * from unnest(${ids}::text[], ${pids}::text[], ${ok.map((r) => r.job.attempts)}::int[], ${ok.map((r) => r.at.toISOString())}::timestamptz[]) as r(id, pid, attempts, at)),
    del as (delete from delivery_jobs j using r where j.tenant_id = ${tenantId} and j.message_id = r.id and j.lease_owner = ${d.worker}),
    cur as (select m.id, sb_status_rank(m.status) < sb_status_rank('sent') as up from messages m join r on r.id = m.id
            where m.tenant_id = ${tenantId} and m.direction = 'out' order by m.id for update of m),
    upd as (update messages m set status = case when cur.up then 'sent' else m.status end,
              provider_message_id = coalesce(m.provider_message_id, ${pid}), sent_at = coalesce(m.sent_at, r.at),
              attempts = r.attempts, error_code = null, error_detail = null, updated_at = now()
            from cur join r on r.id = cur.id where m.tenant_id = ${tenantId} and m.id = cur.id returning m.id, cur.up)
    insert into message_status_log (tenant_id, message_id, status) select ${tenantId}, id, 'sent' from upd where up
    returning message_id`.execute(tx);
  // Status changes are tenant events (webhooks, SSE), in the same transaction as the change.
  const byId = new Map(ok.map((r) => [r.job.message_id, r]));
  await emitEvents(tx, tenantId, sent.rows.map(({ message_id }) => {
    const r = byId.get(message_id)!;
    return { type: 'message.status', channelId: r.channelId, data: { message_id, provider_message_id: r.providerMessageId, status: 'sent', applied: true, error: null, at: r.at.toISOString() } };
  }));
  await applyParkedStatuses(tx, tenantId, ok);
}

/** What a merged echo row had reached (acks matched to it by provider id), moved to our message. */
async function applyMerged(tx: Tx, tenantId: TenantId, ok: (Result & { ok: true })[], merged: MergedEcho[]): Promise<void> {
  const byId = new Map(ok.map((r) => [r.job.message_id, r]));
  for (const e of merged) {
    const r = byId.get(e.target)!;
    const steps: { status: OutboundStatus; at: Date | null; error?: StatusError }[] = [
      { status: 'delivered', at: e.delivered_at },
      { status: 'read', at: e.read_at },
      { status: 'played', at: e.status === 'played' ? (e.read_at ?? r.at) : null },
      { status: 'failed', at: e.status === 'failed' ? (e.failed_at ?? r.at) : null, error: { code: e.error_code ?? 'failed', detail: e.error_detail ?? undefined } },
    ];
    for (const st of steps) {
      if (!st.at) continue;
      const change = await updateOutboundStatus(tx, { messageId: e.target }, { status: st.status, at: st.at, error: st.error });
      if (!change?.changed) continue;
      await emitEvent(tx, {
        tenantId, type: 'message.status', channelId: r.channelId,
        data: { message_id: e.target, provider_message_id: r.providerMessageId, status: st.status, applied: true, error: st.status === 'failed' ? (st.error ?? null) : null, at: st.at.toISOString() },
      });
    }
  }
}

async function recordFailure(tx: Tx, d: ProcessDeps, tenantId: TenantId, r: Result & { ok: false }): Promise<void> {
  const id = r.job.message_id;
  const o = r.ageMs > d.retry.maxAgeMs ? { retry: false as const, code: 'expired', detail: 'older than the maximum age' } : decide(r.err, r.job.attempts, r.ageMs, d.retry);
  if (o.retry) {
    await sql`update delivery_jobs set run_at = now() + make_interval(secs => ${o.delayMs / 1000}), lease_owner = null, lease_until = null,
      last_error = ${`${o.code}: ${o.detail}`} where tenant_id = ${tenantId} and message_id = ${id} and lease_owner = ${d.worker}`.execute(tx);
    await sql`update messages set attempts = ${r.job.attempts}, error_code = ${o.code}, error_detail = ${o.detail} where tenant_id = ${tenantId} and id = ${id}`.execute(tx);
    if (o.pauseChannelMs) {
      await sql`update delivery_buckets set paused_until = greatest(paused_until, now() + make_interval(secs => ${o.pauseChannelMs / 1000})), tokens = 0
        where tenant_id = ${tenantId} and channel_id = ${r.channelId}`.execute(tx);
    }
    return;
  }
  const del = await tx.deleteFrom('delivery_jobs').where('message_id', '=', id).where('lease_owner', '=', d.worker).executeTakeFirst();
  if (Number(del.numDeletedRows) === 0) return; // lost the lease: the new owner decides
  await markFailed(tx, tenantId, { messageId: id, channelId: r.channelId }, r.at, { code: o.code, detail: o.detail });
  await sql`update messages set attempts = ${r.job.attempts} where tenant_id = ${tenantId} and id = ${id}`.execute(tx);
}

/**
 * Fails, as `expired`, the unleased jobs older than the maximum age — above all the held ones (a
 * disabled channel, a suspended tenant), which are never claimed and so never met the age check of
 * `send` (migration 049). One transaction per tenant; the same status change and event as a
 * message that expires when claimed. Returns how many it failed.
 */
export async function expireUnclaimed(ctx: AppContext, maxAgeMs: number, limit = 1000): Promise<number> {
  const { rows } = await sql<{ tenant_id: string; message_id: string; channel_id: string }>`select * from sb_jobs_past_age(${maxAgeMs}, ${limit})`.execute(ctx.db);
  const byTenant = new Map<string, typeof rows>();
  for (const r of rows) byTenant.set(r.tenant_id, [...(byTenant.get(r.tenant_id) ?? []), r]);
  let n = 0;
  for (const [tenantId, jobs] of byTenant) {
    await withTenant(ctx.db, asTenantId(tenantId), async (tx) => {
      // Claimed meanwhile: the claimer decides (it fails them on their age itself).
      const gone = await sql<{ message_id: string; channel_id: string }>`delete from delivery_jobs
        where tenant_id = ${tenantId} and message_id = any(${jobs.map((j) => j.message_id)}) and (lease_until is null or lease_until < now())
        returning message_id, channel_id`.execute(tx);
      const at = ctx.clock.now();
      const error = { code: 'expired', detail: 'older than the maximum age: held (channel disabled or tenant suspended) or never sendable' };
      for (const j of gone.rows) if (await markFailed(tx, tenantId, { messageId: j.message_id, channelId: j.channel_id }, at, error)) n += 1;
    });
  }
  return n;
}

/** An outbound message failed for good: its status (monotonic) and, when it changed, its event. */
async function markFailed(tx: Tx, tenantId: string, m: { messageId: string; channelId: string }, at: Date, error: StatusError): Promise<boolean> {
  const change = await updateOutboundStatus(tx, { messageId: m.messageId }, { status: 'failed', at, error });
  if (!change?.changed) return false;
  await emitEvent(tx, { tenantId, type: 'message.status', channelId: m.channelId, data: { message_id: m.messageId, provider_message_id: null, status: 'failed', applied: true, error, at: at.toISOString() } });
  return true;
}

/** Removes a job this worker holds, nothing else (a result that cannot be recorded, see `record`). */
async function dropJob(ctx: AppContext, d: ProcessDeps, tenantId: TenantId, messageId: string): Promise<void> {
  await withTenant(ctx.db, tenantId, (tx) => tx.deleteFrom('delivery_jobs').where('message_id', '=', messageId).where('lease_owner', '=', d.worker).execute());
}

/**
 * The database refused the data itself — a data exception, a constraint, a trigger's exception, a
 * bug in a statement — so writing it again gets the same answer. Connection loss, shutdown, lock
 * timeouts and the like are outages: the write may succeed later.
 */
function refusedForGood(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|P0|42)[0-9A-Z]{3}$/.test(code);
}

/**
 * A result the database would not record. A send that happened must never happen again: when the
 * refusal is for good (not an outage) its job goes, so it is not claimed and sent again every lease
 * for a day; its row keeps what could not be recorded, and the log names it. A failure, or any
 * result during an outage, stays leased and is tried again.
 */
async function refused(ctx: AppContext, d: ProcessDeps, r: Result, err: unknown): Promise<void> {
  ctx.logger.error({ err: (err as Error)?.message, tenant_id: r.tenantId, message_id: r.job.message_id }, 'delivery results the database refused');
  if (!r.ok || !refusedForGood(err)) return;
  await dropJob(ctx, d, r.tenantId, r.job.message_id).catch((x: unknown) => ctx.logger.error({ err: (x as Error)?.message, message_id: r.job.message_id }, 'could not drop the job of a sent message'));
}
