import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { newId } from '../core/ids.js';
import { GroupCommit } from '../core/group-commit.js';
import type { RawWebhook } from '../providers/types.js';

/** Headers worth keeping with the raw body: signature material and content type, nothing else. */
const KEPT_HEADERS = ['content-type', 'x-hub-signature-256', 'x-webhook-hmac', 'x-webhook-hmac-algorithm', 'x-sandbox-signature', 'user-agent'];

export function keptHeaders(raw: RawWebhook): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of KEPT_HEADERS) {
    const v = raw.headers[h];
    if (typeof v === 'string') out[h] = v.slice(0, 512);
  }
  return out;
}

export interface InboxWrite {
  tenantId: string;
  channelId: string;
  provider: string;
  body: Buffer;
  headers: Record<string, string>;
  split: boolean;
}

/** Commits one inbox row (autocommit, one round trip). Returns its id. */
export async function putInbox(ctx: AppContext, w: InboxWrite): Promise<string> {
  const id = newId('inb');
  await sql`select sb_inbox_put(${w.tenantId}, ${id}, ${w.channelId}, ${w.provider}, ${w.body}, ${JSON.stringify(w.headers)}::jsonb, ${w.split})`.execute(ctx.db);
  return id;
}

/**
 * Group commit for the acknowledge path (src/core/group-commit.ts): webhooks arriving while a write
 * is in flight are written together in one statement (`sb_inbox_put_packed`) and one WAL flush; each
 * request still gets its answer only after its own row is committed. If a group fails (e.g. a
 * channel deleted between routing and insert breaks the foreign key), its rows are retried one by
 * one so one bad row fails only its own request.
 */
const MAX_ROWS = 500;
const MAX_FLUSHES = 4;
const MIN_PARALLEL = 16;

interface Pending { w: InboxWrite; id: string; resolve: (id: string) => void; reject: (err: unknown) => void }

/**
 * A commit group as `sb_inbox_put_packed`'s parameters (migration 039): the bodies as ONE buffer,
 * which node-postgres sends in binary as it is, with their lengths, and the headers as one JSON
 * array. As a bytea[] parameter every body went hex-encoded in array text (twice its size on the
 * wire, built and then parsed back on the acknowledge path); docs/performance.md, 2026-12-01.
 */
export function packInboxGroup(rows: { w: InboxWrite; id: string }[]) {
  return {
    tenants: rows.map((r) => r.w.tenantId),
    ids: rows.map((r) => r.id),
    channels: rows.map((r) => r.w.channelId),
    providers: rows.map((r) => r.w.provider),
    bodies: rows.length === 1 ? rows[0]!.w.body : Buffer.concat(rows.map((r) => r.w.body)),
    lengths: rows.map((r) => r.w.body.length),
    headers: JSON.stringify(rows.map((r) => r.w.headers)),
    split: rows.map((r) => r.w.split),
  };
}

export class InboxWriter {
  private readonly groups: GroupCommit<Pending>;
  constructor(private readonly ctx: AppContext) {
    this.groups = new GroupCommit<Pending>({ maxRows: MAX_ROWS, maxFlushes: MAX_FLUSHES, minParallel: MIN_PARALLEL, flush: (g) => this.flush(g) });
  }

  put(w: InboxWrite): Promise<string> {
    return new Promise((resolve, reject) => this.groups.push({ w, id: newId('inb'), resolve, reject }));
  }

  private async flush(group: Pending[]): Promise<void> {
    try {
      const p = packInboxGroup(group);
      await sql`select sb_inbox_put_packed(${p.tenants}::text[], ${p.ids}::text[], ${p.channels}::text[], ${p.providers}::text[],
        ${p.bodies}::bytea, ${p.lengths}::integer[], ${p.headers}::jsonb, ${p.split}::boolean[])`.execute(this.ctx.db);
      for (const p of group) p.resolve(p.id);
    } catch (err) {
      if (group.length === 1) return group[0]!.reject(err);
      await Promise.all(group.map((p) => putInbox(this.ctx, p.w).then(p.resolve, p.reject)));
    }
  }
}

export type RejectReason = 'unroutable' | 'bad_signature' | 'malformed' | 'disabled';

/**
 * Strict mode record of a refused webhook: metric counter, a log line with the routing keys, and a
 * control-plane row without the body (the body may belong to any tenant, or to an attacker).
 */
export async function recordReject(ctx: AppContext, provider: string, reason: RejectReason, keys: string[], body: Buffer): Promise<void> {
  rejectCounts.set(`${provider}:${reason}`, (rejectCounts.get(`${provider}:${reason}`) ?? 0) + 1);
  const sha = createHash('sha256').update(body).digest('hex');
  ctx.logger.warn({ provider, reason, routing_keys: keys.slice(0, 20), body_bytes: body.length, body_sha256: sha }, 'inbound webhook refused');
  try {
    await sql`select sb_inbound_reject(${newId('inb')}, ${provider}, ${reason}, ${keys.slice(0, 50)}::text[], ${body.length}, ${sha})`.execute(ctx.db);
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message }, 'could not record refused webhook');
  }
}

/** Process-local counters of refused webhooks (`provider:reason` → count), for /metrics. */
export const rejectCounts = new Map<string, number>();

/**
 * This line's share of a Cloud API batch: the same document with only the `changes` whose
 * `metadata.phone_number_id` is `externalId`. Used when one POST carries lines of several channels,
 * so no inbox row holds another channel's (possibly another tenant's) messages.
 */
export function cloudApiShare(json: unknown, externalId: string): Buffer {
  const doc = json as { object?: unknown; entry?: unknown };
  const entries = Array.isArray(doc.entry) ? doc.entry : [];
  const entry = entries
    .map((e: unknown) => {
      const en = e as { changes?: unknown };
      if (!en || typeof en !== 'object' || !Array.isArray(en.changes)) return null;
      const changes = en.changes.filter((c: unknown) => {
        const v = (c as { value?: { metadata?: { phone_number_id?: unknown } } } | null)?.value;
        return String(v?.metadata?.phone_number_id ?? '') === externalId;
      });
      return changes.length > 0 ? { ...en, changes } : null;
    })
    .filter((e) => e !== null);
  return Buffer.from(JSON.stringify({ object: doc.object, entry }), 'utf8');
}
