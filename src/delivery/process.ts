import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { openCredentials } from '../channels/service.js';
import type { OutboundContent } from '../core/canonical.js';
import { asTenantId, withTenant } from '../db/db.js';
import { applyEarlyStatuses, updateOutboundStatus } from '../messages/status.js';
import { decide, type RetryPolicy } from './backoff.js';
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
  /** Decrypted credentials per channel version: a vault decrypt per message would cost ~20 µs × rate. */
  credentials: Map<string, { version: number; creds: Record<string, unknown> }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Delivers one claimed job. Reads and writes happen in the job's tenant transaction (RLS applies
 * to the worker exactly as to the API); the provider call happens between two short transactions,
 * never inside one, so a slow provider holds no connection. Result writes are fenced on
 * `lease_owner`: a worker that lost its lease (paused past it) does not delete a job someone else
 * now owns, but still records the provider id it got (the send did happen).
 */
export async function processJob(ctx: AppContext, d: ProcessDeps, job: ClaimedJob): Promise<void> {
  const tenantId = asTenantId(job.tenant_id);
  const loaded = await withTenant(ctx.db, tenantId, async (tx) => {
    const j = await tx.selectFrom('delivery_jobs').selectAll().where('message_id', '=', job.message_id).executeTakeFirst();
    if (!j || j.lease_owner !== d.worker) return null;
    const m = await tx.selectFrom('messages').select(['id', 'status', 'peer', 'content', 'reply_to', 'created_at']).where('id', '=', job.message_id).executeTakeFirst();
    const c = await tx.selectFrom('channels').selectAll().where('id', '=', job.channel_id).executeTakeFirst();
    if (!m || !c || m.status !== 'queued') {
      await tx.deleteFrom('delivery_jobs').where('message_id', '=', job.message_id).execute();
      return null;
    }
    return { j, m, c };
  });
  if (!loaded) return;
  const { m, c } = loaded;
  const ageMs = ctx.clock.now().getTime() - m.created_at.getTime();
  const def = ctx.providers.definition(c.provider);
  let outcome: { ok: true; providerMessageId: string } | { ok: false; err: unknown };
  if (ageMs > d.retry.maxAgeMs) {
    outcome = { ok: false, err: new Error('expired before it could be sent') };
  } else {
    try {
      const version = c.updated_at.getTime();
      let cached = d.credentials.get(c.id);
      if (!cached || cached.version !== version) {
        cached = { version, creds: openCredentials(ctx, c) };
        d.credentials.set(c.id, cached);
      }
      // WhatsApp-Web lines (WAHA, UltraMsg): a random pause makes the cadence look less robotic.
      if (def.rateDefaults.jitterMs > 0) await sleep(Math.random() * def.rateDefaults.jitterMs);
      const res = await ctx.providers.adapter(c.provider).send(
        { tenantId, channelId: c.id, credentials: cached.creds },
        { to: m.peer, content: m.content as OutboundContent, ...(m.reply_to ? { replyTo: m.reply_to } : {}), clientRef: m.id },
      );
      outcome = { ok: true, providerMessageId: res.providerMessageId };
    } catch (err) {
      outcome = { ok: false, err };
    }
  }
  const now = ctx.clock.now();
  await withTenant(ctx.db, tenantId, async (tx) => {
    if (outcome.ok) {
      await tx.deleteFrom('delivery_jobs').where('message_id', '=', m.id).where('lease_owner', '=', d.worker).execute();
      await updateOutboundStatus(tx, { messageId: m.id }, { status: 'sent', at: now, providerMessageId: outcome.providerMessageId });
      await sql`update messages set attempts = ${job.attempts}, error_code = null, error_detail = null where tenant_id = ${tenantId} and id = ${m.id}`.execute(tx);
      await applyEarlyStatuses(tx, { channelId: c.id, providerMessageId: outcome.providerMessageId });
      return;
    }
    const o = ageMs > d.retry.maxAgeMs ? { retry: false as const, code: 'expired', detail: 'older than the maximum age' } : decide(outcome.err, job.attempts, ageMs, d.retry);
    if (o.retry) {
      await sql`update delivery_jobs set run_at = now() + make_interval(secs => ${o.delayMs / 1000}), lease_owner = null, lease_until = null,
        last_error = ${`${o.code}: ${o.detail}`} where tenant_id = ${tenantId} and message_id = ${m.id} and lease_owner = ${d.worker}`.execute(tx);
      await sql`update messages set attempts = ${job.attempts}, error_code = ${o.code}, error_detail = ${o.detail} where tenant_id = ${tenantId} and id = ${m.id}`.execute(tx);
      if (o.pauseChannelMs) {
        await sql`update delivery_buckets set paused_until = greatest(paused_until, now() + make_interval(secs => ${o.pauseChannelMs / 1000})), tokens = 0
          where tenant_id = ${tenantId} and channel_id = ${c.id}`.execute(tx);
      }
      return;
    }
    const del = await tx.deleteFrom('delivery_jobs').where('message_id', '=', m.id).where('lease_owner', '=', d.worker).executeTakeFirst();
    if (Number(del.numDeletedRows) === 0) return; // lost the lease: the new owner decides
    await updateOutboundStatus(tx, { messageId: m.id }, { status: 'failed', at: now, error: { code: o.code, detail: o.detail } });
    await sql`update messages set attempts = ${job.attempts} where tenant_id = ${tenantId} and id = ${m.id}`.execute(tx);
  });
}
