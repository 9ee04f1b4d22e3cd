import type { FastifyRequest } from 'fastify';
import type { Tx } from '../db/db.js';
import { newId } from '../core/ids.js';
import type { Principal } from '../identity/authenticate.js';

/** Tenant id used for superadmin actions that concern no tenant (plans). */
export const PLATFORM_TENANT = 'platform';

export interface Actor {
  type: 'user' | 'api_key' | 'jwt' | 'superadmin' | 'admin_key' | 'cli' | 'system';
  id: string | null;
  ip: string | null;
}

export function actorOf(req: FastifyRequest): Actor {
  const p: Principal | null = req.principal;
  const ip = req.ip ?? null;
  if (!p) return { type: 'system', id: null, ip };
  switch (p.kind) {
    case 'api_key':
      return { type: 'api_key', id: p.keyId, ip };
    case 'jwt':
      return { type: 'jwt', id: p.subject ?? null, ip };
    case 'session':
      return { type: 'user', id: p.userId, ip };
    case 'superadmin':
      return p.adminKeyId ? { type: 'admin_key', id: p.adminKeyId, ip } : { type: 'superadmin', id: p.userId ?? null, ip };
  }
}

export const cliActor = (who: string | null): Actor => ({ type: 'cli', id: who, ip: null });

const SECRET_KEY = /secret|token|password|key|hash|credential|authorization/i;

/** Deep copy with every secret-looking member replaced: audit rows must never hold secrets. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[depth]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1)]),
    );
  }
  return value;
}

/** Writes one audit entry in the caller's transaction, so the change and its record commit together. */
export async function audit(
  tx: Tx,
  e: { tenantId: string; actor: Actor; action: string; targetType?: string; targetId?: string; details?: Record<string, unknown> },
): Promise<void> {
  await tx
    .insertInto('audit_log')
    .values({
      tenant_id: e.tenantId,
      id: newId('aud'),
      actor_type: e.actor.type,
      actor_id: e.actor.id,
      action: e.action,
      target_type: e.targetType ?? null,
      target_id: e.targetId ?? null,
      ip: e.actor.ip,
      details: JSON.stringify(redact(e.details ?? {})),
    })
    .execute();
}
