import type { SendRequest } from '../../core/canonical.js';
import { ProviderError } from '../../core/errors.js';
import { isRecord, providerRequest, str, type ProviderResponse } from '../http.js';
import type { ChannelRef, ProviderAdapter, ProviderDeps } from '../types.js';
import type { SandboxCredentials } from './credentials.js';
import { sandboxErrorFrom } from './errors.js';
import { API_PREFIX, type ReplyBody, type SendBody } from './protocol.js';

type Ch = ChannelRef<SandboxCredentials>;

/** The sandbox adapter plus the one thing only a sandbox can do: make the contact answer. */
export interface SandboxAdapter extends ProviderAdapter<SandboxCredentials> {
  /** The simulated contact `phone` writes `text` to the line; arrives as a signed inbound webhook. */
  contactReply(ch: Ch, p: { phone: string } & ReplyBody): Promise<{ messageId: string }>;
}

export function createSandboxAdapter(deps: ProviderDeps): SandboxAdapter {
  async function call(ch: Ch, method: string, path: string, body?: unknown): Promise<unknown> {
    const base = ch.credentials.baseUrl.replace(/\/+$/, '');
    const res: ProviderResponse = await providerRequest(deps, {
      method,
      url: `${base}${API_PREFIX}/${encodeURIComponent(ch.credentials.lineId)}${path}`,
      headers: { authorization: `Bearer ${ch.credentials.secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const err = sandboxErrorFrom(res, deps.clock.now().getTime());
    if (err) throw err;
    return res.json;
  }

  function idOf(answer: unknown): string {
    const id = isRecord(answer) ? str(answer.id) : undefined;
    if (!id) throw new ProviderError({ kind: 'unknown', retryable: false, message: 'Sandbox: answer without an id' });
    return id;
  }

  return {
    async testConnection(ch) {
      const line = await call(ch, 'GET', '');
      const phone = isRecord(line) ? str(line.phone) : undefined;
      return { ok: true, detail: phone ? `sandbox line ${phone}` : 'sandbox line' };
    },

    async send(ch, req: SendRequest) {
      // The sandbox speaks the canonical model; clientRef doubles as its idempotency key.
      const body: SendBody = { to: req.to, content: req.content, clientRef: req.clientRef };
      if (req.replyTo) body.replyTo = req.replyTo;
      return { providerMessageId: idOf(await call(ch, 'POST', '/messages', body)) };
    },

    async markRead(ch, p) {
      await call(ch, 'POST', `/messages/${encodeURIComponent(p.providerMessageId)}/read`, {});
    },

    async contactReply(ch, p) {
      const { phone, ...reply } = p;
      return { messageId: idOf(await call(ch, 'POST', `/contacts/${encodeURIComponent(phone)}/reply`, reply)) };
    },
  };
}
