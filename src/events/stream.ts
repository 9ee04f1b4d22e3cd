import { sql } from 'kysely';
import type { FastifyReply } from 'fastify';
import type { AppContext } from '../app/context.js';
import { asTenantId, withTenant } from '../db/db.js';
import './schema.js';

/**
 * Server-Sent Events for one tenant, working across processes through the database. Each process
 * LISTENs on `sb_events` (a trigger NOTIFYs the tenant id when events commit, migration 006) and
 * wakes only that tenant's streams, which read their own rows under RLS. A poller asking which
 * tenants have new events (one indexed query, whatever the number of streams) stays as the safety
 * net for notifications lost while the LISTEN connection was down: every SAFETY_POLL_MS with LISTEN,
 * every POLL_MS without it.
 * Event ids are ULIDs (time-ordered) but a transaction can commit after a later-numbered one, so a
 * stream re-reads an OVERLAP_MS window behind its cursor and skips ids it has sent.
 */
const POLL_MS = 200;
const SAFETY_POLL_MS = 2_000;
const OVERLAP_MS = 2_000;
const HEARTBEAT_MS = 15_000;
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

export function idTime(id: string): number {
  let t = 0;
  for (const c of id.slice(4, 14)) t = t * 32 + B32.indexOf(c);
  return t;
}

type Wake = () => void;
export class Notifier {
  private readonly subs = new Map<string, Set<Wake>>();
  private timer: NodeJS.Timeout | undefined;
  private since = new Date();
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
      this.unlisten = this.ctx.listen('sb_events', (tenantId) => this.wake(tenantId));
      this.unlisten.catch((err) => this.ctx.logger.warn({ err: (err as Error)?.message }, 'event LISTEN failed; polling only'));
    }
    if (!this.timer) {
      this.since = new Date(Date.now() - OVERLAP_MS);
      this.schedule();
    }
    return () => {
      set.delete(wake);
      if (set.size === 0) this.subs.delete(tenantId);
      if (this.subs.size === 0 && this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      if (this.subs.size === 0 && this.unlisten) {
        void this.unlisten.then((stop) => stop()).catch(() => undefined);
        this.unlisten = undefined;
      }
    };
  }

  private schedule(): void {
    if (!Number.isFinite(this.pollMs)) return;
    this.timer = setTimeout(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    try {
      const { rows } = await sql<{ tenant_id: string; latest: Date }>`select * from sb_event_tenants_since(${this.since})`.execute(this.ctx.db);
      for (const r of rows) {
        if (r.latest.getTime() - OVERLAP_MS > this.since.getTime()) this.since = new Date(r.latest.getTime() - OVERLAP_MS);
        this.wake(r.tenant_id);
      }
    } catch (err) {
      this.ctx.logger.warn({ err: (err as Error)?.message }, 'event stream poll failed');
    }
    if (this.subs.size > 0) this.schedule();
    else this.timer = undefined;
  }
}
const notifiers = new WeakMap<AppContext, Notifier>();
const notifierOf = (ctx: AppContext) => {
  let n = notifiers.get(ctx);
  if (!n) notifiers.set(ctx, (n = new Notifier(ctx)));
  return n;
};

const open = new Set<() => void>();
/** Ends every open stream of this process (shutdown: clients reconnect elsewhere with Last-Event-ID). */
export function closeAllStreams(): void {
  for (const end of [...open]) end();
}

/** Streams the tenant's events from `lastEventId` (exclusive) or from now; ends when the client goes. */
export function streamEvents(ctx: AppContext, tenantId: string, lastEventId: string | undefined, reply: FastifyReply): void {
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  raw.write('retry: 2000\n: connected\n\n');
  // Resume: never send an id at or below Last-Event-ID (the client has it). Fresh: from now.
  const hardFloor = lastEventId ?? idFloor(Date.now() - 1);
  let newest = hardFloor;
  const sent = new Map<string, number>();
  let busy = false;
  let again = false;
  let closed = false;

  const pump = async (): Promise<void> => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const windowFloor = idFloor(idTime(newest) - OVERLAP_MS);
        const floor = windowFloor > hardFloor ? windowFloor : hardFloor;
        const rows = await withTenant(ctx.db, asTenantId(tenantId), (tx) =>
          tx.selectFrom('events').select(['id', 'type', 'data', 'created_at']).where('id', '>', floor).orderBy('id').limit(500).execute());
        for (const e of rows) {
          if (closed || sent.has(e.id)) continue;
          raw.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ id: e.id, type: e.type, timestamp: new Date(e.created_at).toISOString(), data: e.data })}\n\n`);
          sent.set(e.id, idTime(e.id));
          if (e.id > newest) newest = e.id;
        }
        const keepAfter = idTime(newest) - 2 * OVERLAP_MS;
        for (const [id, t] of sent) if (t < keepAfter) sent.delete(id);
        if (rows.length === 500) again = true;
      } while (again && !closed);
    } catch (err) {
      ctx.logger.warn({ err: (err as Error)?.message, tenant_id: tenantId }, 'event stream read failed');
    } finally {
      busy = false;
    }
  };

  const unsubscribe = notifierOf(ctx).subscribe(tenantId, () => void pump());
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  const end = () => raw.end();
  open.add(end);
  raw.on('close', () => {
    closed = true;
    open.delete(end);
    clearInterval(heartbeat);
    unsubscribe();
  });
  void pump();
}
