import { sql } from 'kysely';
import type { FastifyReply } from 'fastify';
import type { AppContext } from '../app/context.js';
import { asTenantId, withTenant, type Tx } from '../db/db.js';
import { stopListen } from '../db/listen.js';
import { AppError } from '../core/errors.js';
import './schema.js';

/**
 * Server-Sent Events for one tenant, working across processes through the database. Each process
 * LISTENs on `sb_events` (a trigger NOTIFYs the tenant id when events commit, migration 022) and
 * wakes only that tenant's streams, which read their own rows under RLS. A poller asking which
 * tenants have new events (one indexed query, whatever the number of streams) stays as the safety
 * net for notifications lost while the LISTEN connection was down: every SAFETY_POLL_MS with LISTEN,
 * every POLL_MS without it.
 * Event ids are ULIDs made before their transaction commits, so an event can become visible after
 * a later-numbered one was sent: streams sweep an OVERLAP_MS window behind their cursor (decision
 * 044). An event committed more than ~4 s after its id was made may be missed (docs/events.md).
 */
const POLL_MS = 200;
const SAFETY_POLL_MS = 2_000;
/** How far back the poll looks (by `created_at`, the transaction start, on the database's clock). */
const POLL_WINDOW_MS = 5_000;
/**
 * How far behind its cursor a stream looks for late commits, and below Last-Event-ID on resume.
 * Ids are made before the write waits for a pool connection (up to 5 s, connectionTimeoutMillis)
 * and commits; 2 s was shorter than a slow write under load. A sweep counts the window's rows
 * on the primary key: 2,000 rows took 1 ms, 20,000 (a tenant at 4,000 events a second) 11 ms.
 */
const OVERLAP_MS = 5_000;
/**
 * At most one sweep per stream this often (a busy tenant wakes its streams all the time: ≤ 22 ms
 * of database time a second per stream at 4,000 events a second); a late event reaches the client
 * up to this much after its commit. Events above the cursor are read on every wake-up regardless.
 */
const SWEEP_MS = 500;
/** Rows per tail page; ids per sweep page. */
const PAGE = 500;
const SWEEP_PAGE = 5_000;
/** After a failed read the stream tries again this much later (not on the next event only). */
const RETRY_MS = 1_000;
const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The smallest event id of millisecond `ms`: a cursor "everything from this time on". */
export function idFloor(ms: number): string {
  let t = Math.max(0, Math.floor(ms));
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = B32[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return `evt_${out}${'0'.repeat(16)}`;
}

/** An event id as ULIDs spell them (Crockford base 32: no I, L, O, U). */
export const EVENT_ID = /^evt_[0-9A-HJKMNP-TV-Z]{26}$/;

export function idTime(id: string): number {
  let t = 0;
  for (const c of id.slice(4, 14)) t = t * 32 + B32.indexOf(c);
  return t;
}

type Wake = () => void;
/**
 * Wakes the streams of tenants with new events: on NOTIFY (LISTEN), and by a poll — every
 * SAFETY_POLL_MS with LISTEN, every POLL_MS without — that asks which tenants have events created
 * in the last POLL_WINDOW_MS (by the database's clock) and wakes a tenant when that set changed: its
 * count or a digest of its ids. So an event whose transaction committed after a later-started one's
 * (same tenant or another) still wakes its tenant's streams, as long as it commits within
 * POLL_WINDOW_MS − the poll interval of its transaction's start. A LISTEN that comes back (after a
 * lost connection, when notifications were lost) wakes every subscribed tenant at once.
 */
export class Notifier {
  private readonly subs = new Map<string, Set<Wake>>();
  private timer: NodeJS.Timeout | undefined;
  /** Bumped when polling stops, so a poll in flight then does not schedule a second chain. */
  private generation = 0;
  /** What the last poll saw per tenant (`count:digest`). */
  private reported = new Map<string, string>();
  private unlisten: Promise<() => Promise<void>> | undefined;
  constructor(
    private readonly ctx: AppContext,
    private readonly pollMs = ctx.listen ? SAFETY_POLL_MS : POLL_MS,
  ) {}

  private wake(tenantId: string): void {
    for (const wake of this.subs.get(tenantId) ?? []) wake();
  }

  subscribe(tenantId: string, wake: Wake): () => void {
    let set = this.subs.get(tenantId);
    if (!set) this.subs.set(tenantId, (set = new Set()));
    set.add(wake);
    if (this.ctx.listen && !this.unlisten) {
      this.unlisten = this.ctx.listen('sb_events', (tenantId) => this.wake(tenantId), (listening) => {
        // Back after a loss: whatever was notified meanwhile is gone; every stream looks again.
        if (listening) for (const t of [...this.subs.keys()]) this.wake(t);
      });
      this.unlisten.catch((err) => this.ctx.logger.warn({ err: (err as Error)?.message }, 'event LISTEN failed; polling only'));
    }
    if (!this.timer) {
      this.reported = new Map();
      this.schedule(this.generation);
    }
    return () => {
      set.delete(wake);
      if (set.size === 0) this.subs.delete(tenantId);
      if (this.subs.size === 0 && this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.generation += 1;
      }
      if (this.subs.size === 0 && this.unlisten) {
        void stopListen(this.unlisten);
        this.unlisten = undefined;
      }
    };
  }

  private schedule(generation: number): void {
    if (!Number.isFinite(this.pollMs)) return;
    this.timer = setTimeout(() => void this.poll(generation), this.pollMs);
    this.timer.unref();
  }

  private async poll(generation: number): Promise<void> {
    try {
      const { rows } = await sql<{ tenant_id: string; n: string; digest: string }>`select * from sb_event_tenants_recent(${POLL_WINDOW_MS})`.execute(this.ctx.db);
      const reported = new Map<string, string>();
      for (const r of rows) {
        const seen = `${r.n}:${r.digest}`;
        reported.set(r.tenant_id, seen);
        // The same set as last time: nothing new (an idle stream is not woken every poll).
        if (this.reported.get(r.tenant_id) !== seen) this.wake(r.tenant_id);
      }
      this.reported = reported;
    } catch (err) {
      this.ctx.logger.warn({ err: (err as Error)?.message }, 'event stream poll failed');
    }
    if (generation !== this.generation) return;
    if (this.subs.size > 0) this.schedule(generation);
    else {
      this.timer = undefined;
      this.generation += 1;
    }
  }
}
const notifiers = new WeakMap<AppContext, Notifier>();
const notifierOf = (ctx: AppContext) => {
  let n = notifiers.get(ctx);
  if (!n) notifiers.set(ctx, (n = new Notifier(ctx)));
  return n;
};

const open = new Set<() => void>();
/** Open streams per tenant in this process, for SSE_MAX_STREAMS_PER_TENANT. */
const perTenant = new Map<string, number>();
/** Streams this process is serving (tests, metrics). */
export const openStreams = (): number => open.size;
/** Ends every open stream of this process (shutdown: clients reconnect elsewhere with Last-Event-ID). */
export function closeAllStreams(): void {
  for (const end of [...open]) end();
}

type Row = { id: string; type: string; data: unknown; created_at: Date | string };
const columns = ['id', 'type', 'data', 'created_at'] as const;

/**
 * Streams the tenant's events after `lastEventId` or from now; ends when the client goes, or when
 * `stillAllowed` (asked every heartbeat) says the credential no longer may read.
 *
 * Two kinds of read (decision 044). The *tail* pages forward with a strict cursor — `id > cursor`,
 * cursor = the last row of the page — until a short page, so every page makes progress whatever
 * the number of events in one millisecond or one transaction (a batch emits 600 at once). The
 * *sweep* looks OVERLAP_MS behind the cursor for events whose ids sort below ones already sent
 * because their transactions committed later: it counts the window's rows against the ids this
 * connection knows of there, and only when they differ reads the window's ids (index only) and
 * sends the rows it has not sent. A sweep runs on the first read after a wake-up (every commit of
 * the tenant NOTIFYs one), at most every SWEEP_MS; a resume starts with one, so it also re-sends
 * the window below Last-Event-ID (all but Last-Event-ID itself, which is all the client tells us).
 * Nothing else reads: an idle stream costs no query.
 */
export function streamEvents(ctx: AppContext, tenantId: string, lastEventId: string | undefined, reply: FastifyReply, stillAllowed: () => Promise<boolean> = async () => true): void {
  const raw = reply.raw;
  // Each stream reads on every wake-up of its tenant, through the pool every tenant shares: one
  // tenant's hundreds of streams slowed every other tenant's API (review of 2026-12-01).
  const held = perTenant.get(tenantId) ?? 0;
  if (held >= ctx.config.sseMaxStreamsPerTenant) {
    throw new AppError('rate_limited', `this tenant already has ${held} event streams open here (SSE_MAX_STREAMS_PER_TENANT); close one, or share one stream between consumers`, { retryAfterSeconds: 10 });
  }
  reply.hijack();
  // The client may have gone while the request was authenticated: its 'close' has fired already
  // and would never end this stream (subscription, heartbeat and reads for no one).
  if (!raw.socket?.writable) {
    raw.destroy();
    return;
  }
  perTenant.set(tenantId, held + 1);
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  raw.write('retry: 2000\n: connected\n\n');
  // A fresh stream never reaches below its start; a resume's window reaches below Last-Event-ID.
  const startFloor = lastEventId === undefined ? idFloor(Date.now() - 1) : '';
  let cursor = lastEventId ?? startFloor;
  /** Ids this connection sent (or the client has: Last-Event-ID) inside the sweep window. */
  const sent = new Set<string>(lastEventId ? [lastEventId] : []);
  // A count of the window equal to `sent` means nothing unsent only while every id in `sent` is a
  // row: Last-Event-ID may name none (a made-up id, a pruned event), so a resume's first sweep reads.
  let countable = lastEventId === undefined;
  let busy = false;
  let again = false;
  let closed = false;
  let sweepDue = lastEventId !== undefined;
  let lastSweep = 0;
  let timer: NodeJS.Timeout | undefined;
  const tenant = asTenantId(tenantId);

  const windowFloor = () => {
    const w = idFloor(idTime(cursor) - OVERLAP_MS);
    return w > startFloor ? w : startFloor;
  };
  /** Keeps `sent` to the window (its floor only rises): then its size is what the window should hold. */
  const prune = (floor: string) => {
    for (const id of sent) if (id <= floor) sent.delete(id);
  };
  const send = (rows: Row[]) => {
    for (const e of rows) {
      if (closed || sent.has(e.id)) continue;
      raw.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ id: e.id, type: e.type, timestamp: new Date(e.created_at).toISOString(), data: e.data })}\n\n`);
      sent.add(e.id);
    }
  };
  /** A slow client must not make the process buffer the whole backlog: wait for its socket. */
  const drained = () => new Promise<void>((resolve) => {
    if (!raw.writableNeedDrain || closed) return resolve();
    const done = () => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });

  /** Unsent rows in the window behind the cursor; none read unless the window's count says so. */
  const sweep = async (tx: Tx): Promise<Row[]> => {
    const floor = windowFloor();
    prune(floor);
    if (floor >= cursor) return [];
    if (countable) {
      const { n } = await tx.selectFrom('events').select((eb) => eb.fn.countAll<string>().as('n'))
        .where('id', '>', floor).where('id', '<=', cursor).executeTakeFirstOrThrow();
      if (Number(n) === sent.size) return [];
    }
    const present = new Set<string>();
    for (let from = floor; ;) {
      const ids = await tx.selectFrom('events').select('id').where('id', '>', from).where('id', '<=', cursor).orderBy('id').limit(SWEEP_PAGE).execute();
      for (const r of ids) present.add(r.id);
      if (ids.length < SWEEP_PAGE) break;
      from = ids[ids.length - 1]!.id;
    }
    // An id we hold that is not there (a Last-Event-ID never issued, an event pruned) would make
    // every later count differ: forget it.
    for (const id of sent) if (!present.has(id)) sent.delete(id);
    countable = true;
    const missing = [...present].filter((id) => !sent.has(id));
    const rows: Row[] = [];
    for (let i = 0; i < missing.length; i += PAGE) {
      rows.push(...await tx.selectFrom('events').select(columns).where('id', 'in', missing.slice(i, i + PAGE)).orderBy('id').execute());
    }
    return rows;
  };
  const tail = (tx: Tx): Promise<Row[]> => tx.selectFrom('events').select(columns).where('id', '>', cursor).orderBy('id').limit(PAGE).execute();

  const pump = async (): Promise<void> => {
    if (closed) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const sweepNow = sweepDue && Date.now() - lastSweep >= SWEEP_MS;
        if (sweepNow) {
          sweepDue = false;
          lastSweep = Date.now();
        } else if (sweepDue && !timer) {
          timer = setTimeout(() => {
            timer = undefined;
            void pump();
          }, lastSweep + SWEEP_MS - Date.now());
          timer.unref();
        }
        const [late, first] = await withTenant(ctx.db, tenant, async (tx) => [sweepNow ? await sweep(tx) : [], await tail(tx)] as const);
        send(late);
        let rows = first;
        // Strict cursor: each page starts after the last row of the one before, so it always moves.
        for (;;) {
          send(rows);
          if (rows.length > 0) cursor = rows[rows.length - 1]!.id;
          prune(windowFloor());
          await drained();
          if (rows.length < PAGE || closed) break;
          rows = await withTenant(ctx.db, tenant, tail);
        }
      } while (again && !closed);
    } catch (err) {
      ctx.logger.warn({ err: (err as Error)?.message, tenant_id: tenantId }, 'event stream read failed');
      // Try again later, sweep included: a wake-up consumed by a failed read must not lose events.
      sweepDue = true;
      if (!timer && !closed) {
        timer = setTimeout(() => {
          timer = undefined;
          void pump();
        }, RETRY_MS);
        timer.unref();
      }
    } finally {
      busy = false;
    }
  };

  const unsubscribe = notifierOf(ctx).subscribe(tenantId, () => {
    sweepDue = true;
    void pump();
  });
  // Each heartbeat also asks whether the credential still may read (a revoked key, a suspended
  // tenant, an expired token): if not, the stream ends and the client's reconnect gets the 401/403.
  const heartbeat = setInterval(() => {
    raw.write(': keep-alive\n\n');
    void stillAllowed().then((ok) => ok || raw.end(), () => undefined);
  }, ctx.config.sseHeartbeatSeconds * 1000);
  heartbeat.unref();
  const end = () => raw.end();
  open.add(end);
  raw.on('close', () => {
    closed = true;
    open.delete(end);
    const left = (perTenant.get(tenantId) ?? 1) - 1;
    if (left > 0) perTenant.set(tenantId, left);
    else perTenant.delete(tenantId);
    clearInterval(heartbeat);
    clearTimeout(timer);
    unsubscribe();
  });
  void pump();
}
