import { Type } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import { tenantOf } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { AppError } from '../core/errors.js';
import { withTenant, type TenantId } from '../db/db.js';
import { Binary, bodyOf, errorResponses, IdParam } from '../http/schemas.js';
import type { ProviderSessionInfo, SessionOps } from '../providers/types.js';
import { channelRef, findChannel, providerCall } from './service.js';

const Session = Type.Object({
  status: Type.Union(['stopped', 'starting', 'scan_qr', 'working', 'failed'].map((s) => Type.Literal(s)), { description: 'scan_qr: show the QR code (GET …/session/qr) and scan it with the phone' }),
  provider_status: Type.String({ description: "the provider's own word, e.g. WAHA's SCAN_QR_CODE" }),
  me: Type.Optional(Type.Union([Type.Object({ id: Type.String(), name: Type.Optional(Type.String()) }), Type.Null()])),
});
const view = (s: ProviderSessionInfo) => ({ status: s.status, provider_status: s.providerStatus, ...(s.me !== undefined ? { me: s.me } : {}) });

/** The channel, its provider's session operations and the reference they take; 409 for providers without sessions. */
async function sessionOf(ctx: AppContext, tenantId: TenantId, channelId: string) {
  const row = await withTenant(ctx.db, tenantId, (tx) => findChannel(tx, channelId));
  const def = ctx.providers.definition(row.provider);
  const ops = ctx.providers.adapter(row.provider).session as SessionOps<unknown> | undefined;
  if (!ops) throw new AppError('conflict', `${def.displayName} lines have no session to pair: they are connected by their credentials alone`);
  return { def, ops, ref: channelRef(ctx, row) };
}

/**
 * Pairing a WhatsApp-Web line (WAHA, UltraMsg): its session's state, start / stop / restart / log
 * out, and the QR code to scan — as a PNG image by default, the raw string on request.
 */
export function sessionRoutes(app: App, ctx: AppContext): void {
  const tags = ['channels'];
  const params = IdParam('channelId', 'chn');
  app.get('/v1/channels/:channelId/session', {
    config: { scope: 'channels:read' },
    schema: { tags, summary: "The line's session at its provider (WAHA, UltraMsg): paired, waiting for a QR scan, stopped…", params, response: { 200: Session, ...errorResponses, 502: Type.Ref('Problem') } },
  }, async (req) => {
    const { def, ops, ref } = await sessionOf(ctx, tenantOf(req), req.params.channelId);
    return view(await providerCall(def, () => ops.get(ref)));
  });

  app.post('/v1/channels/:channelId/session/:action', {
    config: { scope: 'channels:write' },
    schema: {
      tags, summary: "Start, stop, restart or log out the line's session (log out unpairs the phone)",
      params: Type.Object({ ...params.properties, action: Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('restart'), Type.Literal('logout')]) }),
      response: { 200: Session, ...errorResponses, 502: Type.Ref('Problem') },
    },
  }, async (req) => {
    const { def, ops, ref } = await sessionOf(ctx, tenantOf(req), req.params.channelId);
    const action = req.params.action;
    return view(await providerCall(def, () => ops[action](ref)));
  });

  app.get('/v1/channels/:channelId/session/qr', {
    // Whoever scans it pairs their phone with the line: as strong as changing the channel.
    config: { scope: 'channels:write' },
    schema: {
      tags, summary: 'The QR code to pair a phone with the line: a PNG image, or `?format=raw` for the string',
      params, querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('image'), Type.Literal('raw')])) }),
      response: { 200: bodyOf('The QR code: a PNG image, or with `?format=raw` the string to draw', { 'image/png': Binary(), 'application/json': Type.Object({ raw: Type.String() }) }), ...errorResponses, 502: Type.Ref('Problem') },
    },
  }, async (req, reply) => {
    const { def, ops, ref } = await sessionOf(ctx, tenantOf(req), req.params.channelId);
    const info = await providerCall(def, () => ops.get(ref));
    if (info.status !== 'scan_qr') {
      throw new AppError('conflict', `the session is ${info.status} (${info.providerStatus}), not waiting for a QR scan${info.status === 'stopped' || info.status === 'failed' ? ': start it first' : ''}`);
    }
    if (req.query.format === 'raw') {
      const qr = await providerCall(def, () => ops.qr(ref, 'raw'));
      if (!qr.raw) throw new AppError('provider_unavailable', `${def.displayName} gave no QR string`);
      return { raw: qr.raw };
    }
    const qr = await providerCall(def, () => ops.qr(ref, 'png'));
    if (!qr.png) throw new AppError('provider_unavailable', `${def.displayName} gave no QR image`);
    return reply.type('image/png').header('cache-control', 'no-store').send(qr.png);
  });
}
