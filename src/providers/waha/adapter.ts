import { toChatId } from '../../core/address.js';
import type { SendRequest, SendResult } from '../../core/canonical.js';
import { ProviderError } from '../../core/errors.js';
import { isRecord, MEDIA_TIMEOUT_MS, str } from '../http.js';
import type { ChannelRef, MediaOps, ProviderAdapter, ProviderDeps, SessionOps } from '../types.js';
import { seg, wahaCall } from './client.js';
import { normaliseBaseUrl, type WahaCredentials } from './credentials.js';
import { isGroupJid, messageIdFromSendAnswer, parseSerializedId } from './ids.js';
import { buildSend } from './outbound.js';
import { createReads, type WahaReads } from './reads.js';
import { createSessionOps } from './session.js';

export interface WahaAdapter extends ProviderAdapter<WahaCredentials> {
  session: SessionOps<WahaCredentials>;
  media: MediaOps<WahaCredentials>;
  reads: WahaReads;
  markRead(ch: ChannelRef<WahaCredentials>, p: { providerMessageId: string; chat: string }): Promise<void>;
}

export function createWahaAdapter(deps: ProviderDeps): WahaAdapter {
  return {
    async testConnection(ch) {
      // Proves URL, key and session in one call: 401 → unauthorized, 404 → not_found (the session
      // does not exist yet: create it), refused/timeout → unavailable/timeout.
      const res = await wahaCall(deps, ch, { method: 'GET', path: `/api/sessions/${seg(ch.credentials.sessionName)}` });
      const status = isRecord(res.json) ? str(res.json.status) : undefined;
      if (!status) {
        throw new ProviderError({ kind: 'unavailable', retryable: true, message: 'the server at baseUrl did not answer like WAHA (no session status)' });
      }
      return { ok: true, detail: `session ${ch.credentials.sessionName} is ${status}` };
    },

    async send(ch, req: SendRequest): Promise<SendResult> {
      const call = buildSend(ch.credentials.sessionName, req);
      const res = await wahaCall(deps, ch, call);
      const id = messageIdFromSendAnswer(res.json, call.chatId);
      if (id) return { providerMessageId: id };
      // WAHA accepted the message but the engine's answer carries no id (WEBJS reactions answer
      // nothing useful). Failing now would make the scheduler resend a delivered message, so the
      // message is recorded under a Switchboard-made id that no status webhook will ever match.
      deps.logger.warn({ channelId: ch.channelId, clientRef: req.clientRef, type: req.content.type }, 'waha send answer without a message id');
      return { providerMessageId: `switchboard:${req.clientRef}` };
    },

    async markRead(ch, p) {
      let chatId: string;
      try {
        chatId = toChatId(p.chat);
      } catch {
        throw new ProviderError({ kind: 'invalid_request', retryable: false, message: `not a WhatsApp address: ${p.chat.slice(0, 64)}` });
      }
      // NOWEB needs the sender of a group message; it is the last part of the serialized id.
      const participant = isGroupJid(chatId) ? parseSerializedId(p.providerMessageId)?.participant : undefined;
      await wahaCall(deps, ch, {
        method: 'POST',
        path: '/api/sendSeen',
        body: { session: ch.credentials.sessionName, chatId, messageIds: [p.providerMessageId], ...(participant ? { participant } : {}) },
      });
    },

    session: createSessionOps(deps),
    reads: createReads(deps),

    media: {
      async upload() {
        throw new ProviderError({ kind: 'invalid_request', retryable: false, message: 'WAHA has no media store: send media by link', providerCode: 'unsupported' });
      },
      /**
       * `mediaId` is the `media.url` of an inbound message. WAHA writes its own idea of its address
       * into it (often `http://localhost:3000/api/files/…`), so only the path is kept and fetched from
       * the channel's baseUrl, with the API key.
       */
      async download(ch, mediaId) {
        let path: string;
        try {
          const u = new URL(mediaId, 'http://relative.invalid');
          path = `${u.pathname}${u.search}`;
        } catch {
          throw new ProviderError({ kind: 'invalid_request', retryable: false, message: 'not a WAHA media URL' });
        }
        const prefix = new URL(normaliseBaseUrl(ch.credentials.baseUrl)).pathname.replace(/\/$/, '');
        if (prefix && path.startsWith(`${prefix}/`)) path = path.slice(prefix.length);
        if (!path.startsWith('/api/files/')) {
          throw new ProviderError({ kind: 'invalid_request', retryable: false, message: 'WAHA media lives under /api/files/' });
        }
        const res = await wahaCall(deps, ch, { method: 'GET', path, accept: '*/*', timeoutMs: MEDIA_TIMEOUT_MS });
        return { data: res.bytes, mimeType: res.headers.get('content-type') ?? 'application/octet-stream' };
      },
    },
  };
}
