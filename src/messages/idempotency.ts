import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { AppError } from '../core/errors.js';
import type { TenantId, Tx } from '../db/db.js';
import '../delivery/schema.js';

/** Stripe keeps keys 24 h; so do we. */
export const IDEMPOTENCY_TTL_HOURS = 24;

/** JSON with sorted keys: the same request body hashes the same whatever its key order. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as Record<string, unknown>).sort().map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export const requestHash = (route: string, body: unknown): string => createHash('sha256').update(route).update('\n').update(stable(body)).digest('hex');

export function checkKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (key.length < 1 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new AppError('validation_failed', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
  return key;
}

/**
 * Claims an idempotency key inside the accept transaction, before any work. Returns the stored
 * answer when the key was already used with the same request (replay), throws 409
 * `idempotency_key_reused` when it was used with a different one, or returns null (go ahead; call
 * `storeResponse` before commit). A concurrent request with the same key blocks on the key's unique
 * index until the first commits (then replays its answer) or rolls back (then proceeds itself).
 * Only successful answers are stored: a failed request holds no key, so it can be retried.
 */
export async function claimKey(tx: Tx, tenantId: TenantId, key: string, hash: string): Promise<{ code: number; body: unknown } | null> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const ins = await sql`insert into idempotency_keys (tenant_id, key, request_hash, response_code, response)
      values (${tenantId}, ${key}, ${hash}, 0, '{}') on conflict do nothing`.execute(tx);
    if (Number(ins.numAffectedRows ?? 0) === 1) return null;
    const row = await tx.selectFrom('idempotency_keys').selectAll().where('key', '=', key).executeTakeFirst();
    if (!row) continue; // deleted between the two statements: try the insert again
    if (row.created_at.getTime() < Date.now() - IDEMPOTENCY_TTL_HOURS * 3600_000) {
      await tx.deleteFrom('idempotency_keys').where('key', '=', key).execute();
      continue;
    }
    if (row.request_hash !== hash) {
      throw new AppError('idempotency_key_reused', 'this Idempotency-Key was used with a different request in the last 24 hours');
    }
    return { code: row.response_code, body: row.response };
  }
  throw new AppError('conflict', 'the Idempotency-Key is being changed concurrently; retry');
}

export async function storeResponse(tx: Tx, key: string, code: number, body: unknown): Promise<void> {
  await tx.updateTable('idempotency_keys').set({ response_code: code, response: JSON.stringify(body) }).where('key', '=', key).execute();
}
