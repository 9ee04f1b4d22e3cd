import type { AppContext } from './context.js';
import { createTenant, getTenantAsAdmin } from '../tenants/service.js';
import { createChannel, listChannels } from '../channels/service.js';
import { createApiKey } from '../identity/key-service.js';
import { asTenantId } from '../db/db.js';
import { AppError } from '../core/errors.js';
import { SANDBOX_TEST_NUMBERS } from '../providers/sandbox/index.js';
import type { Actor } from '../audit/audit.js';

/**
 * `switchboard start --demo`: a tenant `demo` with a built-in sandbox line and a fresh API key, so a
 * newcomer sends a message and watches it go sent → delivered → read within a minute, with no
 * provider account. Idempotent: reuses the tenant and line, makes a new key each time (keys are
 * shown once).
 */
export async function ensureDemo(ctx: AppContext, baseUrl: string): Promise<string> {
  const actor: Actor = { type: 'system', id: 'demo', ip: null };
  let tenant;
  try {
    tenant = await getTenantAsAdmin(ctx, 'demo');
  } catch (err) {
    if (!(err instanceof AppError && err.code === 'not_found')) throw err;
    tenant = await createTenant(ctx, actor, { slug: 'demo', name: 'Demo', plan: 'pro' });
  }
  const tenantId = asTenantId(tenant.id);
  const existing = (await listChannels(ctx, tenantId, 100)).find((c) => c.provider === 'sandbox');
  const channelId = existing?.id ?? (await createChannel(ctx, actor, tenantId, { name: 'Sandbox line', provider: 'sandbox', credentials: {} })).id;
  const { key } = await createApiKey(ctx, actor, tenantId, { name: `demo ${new Date().toISOString()}` });
  const body = JSON.stringify({ channel_id: channelId, to: SANDBOX_TEST_NUMBERS.echo, content: { type: 'text', text: 'Hello from Switchboard' } });
  return [
    '',
    `Demo: tenant "demo" with a sandbox line ${channelId}. API key (shown once):`,
    `  ${key}`,
    'Send a message (the sandbox takes it sent → delivered → read in a few seconds; this number is an echo bot that answers):',
    `  curl -s ${baseUrl}/v1/messages -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' -d '${body}'`,
    'Watch it:',
    `  curl -s ${baseUrl}/v1/messages/<id from the answer> -H 'Authorization: Bearer ${key}'`,
    `  curl -s ${baseUrl}/v1/conversations -H 'Authorization: Bearer ${key}'`,
  ].join('\n');
}
