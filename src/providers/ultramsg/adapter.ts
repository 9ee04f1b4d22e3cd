import { toChatId } from '../../core/address.js';
import type { SendRequest, SendResult } from '../../core/canonical.js';
import { ProviderError } from '../../core/errors.js';
import { isRecord, providerRequest, str, type ProviderResponse } from '../http.js';
import type { ChannelRef, ProviderAdapter, ProviderDeps } from '../types.js';
import { instanceBaseUrl, type UltramsgCredentials } from './credentials.js';
import { expectOk, ultramsgErrorFrom } from './errors.js';
import { buildSendCall } from './payloads.js';
import { createUltramsgSessionOps, mapInstanceStatus } from './session.js';

type Ch = ChannelRef<UltramsgCredentials>;

/** Low-level UltraMsg calls shared by the adapter and the session ops. */
export interface UltramsgClient {
  /** GET with the token as a query parameter (how UltraMsg's GET endpoints take it). */
  get(ch: Ch, path: string, query?: Record<string, string>): Promise<ProviderResponse>;
  /** POST form-urlencoded with `token` as a form field. */
  post(ch: Ch, path: string, fields: Record<string, string>): Promise<ProviderResponse>;
  now(): number;
}

export function createUltramsgClient(deps: ProviderDeps): UltramsgClient {
  return {
    get(ch, path, query = {}) {
      const qs = new URLSearchParams({ token: ch.credentials.token, ...query });
      return providerRequest(deps, { method: 'GET', url: `${instanceBaseUrl(ch.credentials)}/${path}?${qs}` });
    },
    post(ch, path, fields) {
      const body = new URLSearchParams({ token: ch.credentials.token, ...fields }).toString();
      return providerRequest(deps, {
        method: 'POST',
        url: `${instanceBaseUrl(ch.credentials)}/${path}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
    },
    now: () => deps.clock.now().getTime(),
  };
}

/**
 * Success is `{"sent":"true","message":"ok","id":44897}` (`sent` a string; some integrators also
 * see boolean true). `{"sent":"queued","id":…}` means the line is down and UltraMsg queued the
 * message itself; it will go out on reconnect, so it counts as accepted — retrying would send twice.
 */
function sendResult(res: ProviderResponse, now: number, clientRef: string, warn: () => void): SendResult {
  const err = ultramsgErrorFrom(res, now);
  if (err) throw err;
  const body = res.json;
  if (isRecord(body)) {
    const sent = body.sent;
    const id = str(body.id);
    if (sent === 'true' || sent === true || sent === 'queued') {
      if (id) return { providerMessageId: id };
      // Accepted without a queue id: failing now would make the scheduler send it again. Recorded
      // under a Switchboard id (as WAHA does); its acks still match by `referenceId` (decision 045).
      warn();
      return { providerMessageId: `switchboard:${clientRef}` };
    }
  }
  throw new ProviderError({
    kind: 'unknown',
    retryable: false,
    message: `UltraMsg: unexpected send answer: ${res.text.slice(0, 200)}`,
    httpStatus: res.status,
  });
}

export function createUltramsgAdapter(deps: ProviderDeps): ProviderAdapter<UltramsgCredentials> {
  const client = createUltramsgClient(deps);
  return {
    async testConnection(ch) {
      const res = await client.get(ch, 'instance/status');
      const info = mapInstanceStatus(expectOk(res, client.now()));
      return { ok: true, detail: `instance status: ${info.providerStatus}` };
    },

    async send(ch, req: SendRequest) {
      const call = buildSendCall(req);
      const warn = () => deps.logger.warn({ channelId: ch.channelId, clientRef: req.clientRef }, 'ultramsg send answer without a message id');
      return sendResult(await client.post(ch, call.endpoint, call.fields), client.now(), req.clientRef, warn);
    },

    /** `chats/read` marks the whole chat read: WhatsApp Web has no per-message read receipt. */
    async markRead(ch, p) {
      const res = await client.post(ch, 'chats/read', { chatId: toChatId(p.chat) });
      expectOk(res, client.now());
    },

    session: createUltramsgSessionOps(client),
  };
}
