import { Type } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import { tenantOf } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { AppError } from '../core/errors.js';
import { normalizeAddress } from '../core/address.js';
import { withTenant } from '../db/db.js';
import { errorResponses, IdParam } from '../http/schemas.js';
import { channelRef, findChannel } from './service.js';
import type { SandboxAdapter, SandboxCredentials } from '../providers/sandbox/index.js';

/** Sandbox only: make the simulated contact write to the line (arrives like any inbound message). */
export function sandboxRoutes(app: App, ctx: AppContext): void {
  app.post('/v1/channels/:channelId/sandbox/reply', {
    config: { scope: 'messages:write' },
    schema: {
      tags: ['channels'],
      summary: 'Sandbox line: a simulated contact sends a message to the line',
      params: IdParam('channelId', 'chn'),
      body: Type.Object({ from: Type.String({ maxLength: 32, description: 'the contact, E.164' }), text: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
      response: { 202: Type.Object({ provider_message_id: Type.String() }), ...errorResponses },
    },
  }, async (req, reply) => {
    const row = await withTenant(ctx.db, tenantOf(req), (tx) => findChannel(tx, req.params.channelId));
    if (row.provider !== 'sandbox') throw new AppError('unsupported_content', 'only sandbox channels have simulated contacts');
    const from = normalizeAddress(req.body.from);
    if (!from?.startsWith('+')) throw new AppError('validation_failed', '`from` must be a phone number in E.164 form');
    const adapter = ctx.providers.adapter('sandbox') as SandboxAdapter;
    const ch = channelRef<SandboxCredentials>(ctx, row);
    const { messageId } = await adapter.contactReply(ch, { phone: from, text: req.body.text });
    return reply.status(202).send({ provider_message_id: messageId });
  });
}
