import { ProviderError } from '../../core/errors.js';
import type { SendRequest, SendResult } from '../../core/canonical.js';
import { isRecord, MEDIA_TIMEOUT_MS, providerRequest, str, type ProviderResponse } from '../http.js';
import type { ChannelRef, ProviderAdapter, ProviderDeps, ProviderTemplate } from '../types.js';
import { encodeGroupId, toCloudRecipient } from './addressing.js';
import { buildMarkReadBody, buildMessageBody, type RecipientFields } from './body.js';
import { graphBase, type CloudApiCredentials } from './credentials.js';
import { cloudApiError } from './errors.js';
import { validateContent } from './validate.js';

type Ch = ChannelRef<CloudApiCredentials>;

/** The Cloud API adapter, plus the typing indicator the generic contract has no slot for. */
export interface CloudApiAdapter extends ProviderAdapter<CloudApiCredentials> {
  markRead(ch: Ch, p: { providerMessageId: string; chat: string }): Promise<void>;
  /** Marks the message read and shows "typing…" to the user for up to 25 s (Meta's rule). */
  showTyping(ch: Ch, p: { providerMessageId: string }): Promise<void>;
}

const TEMPLATE_PAGE_SIZE = 100;
/** Guards against a proxy that keeps answering the same cursor. 50 × 100 templates is far beyond Meta's cap. */
const TEMPLATE_MAX_PAGES = 50;

export function createCloudApiAdapter(deps: ProviderDeps): CloudApiAdapter {
  // The line's own number is needed only to address groups; fetched once per line and kept.
  const displayNumbers = new Map<string, Promise<string>>();

  async function call(
    ch: Ch,
    method: string,
    url: string,
    body?: unknown,
    what?: string,
    timeoutMs?: number,
  ): Promise<ProviderResponse> {
    const headers: Record<string, string> = { authorization: `Bearer ${ch.credentials.accessToken}` };
    let payload: string | FormData | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await providerRequest(deps, {
      method,
      url,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    if (res.status < 200 || res.status >= 300) throw cloudApiError(res, deps.clock.now().getTime(), what);
    return res;
  }

  async function phoneInfo(ch: Ch): Promise<Record<string, unknown>> {
    const url = `${graphBase(ch.credentials)}/${ch.credentials.phoneNumberId}?fields=display_phone_number,verified_name,quality_rating`;
    const res = await call(ch, 'GET', url, undefined, 'phone number lookup');
    if (!isRecord(res.json)) throw malformed('phone number lookup', res);
    return res.json;
  }

  function displayDigits(ch: Ch): Promise<string> {
    const key = ch.credentials.phoneNumberId;
    let p = displayNumbers.get(key);
    if (!p) {
      p = phoneInfo(ch).then((info) => {
        const digits = (str(info.display_phone_number) ?? '').replace(/[^0-9]/g, '');
        if (!digits)
          throw new ProviderError({
            kind: 'unknown',
            retryable: true,
            message: 'phone number lookup gave no display_phone_number',
          });
        return digits;
      });
      p.catch(() => displayNumbers.delete(key)); // a failed lookup is retried next time
      displayNumbers.set(key, p);
    }
    return p;
  }

  async function recipientFields(ch: Ch, to: string): Promise<RecipientFields> {
    const r = toCloudRecipient(to);
    if (!r) throw invalid(`the Cloud API cannot address ${JSON.stringify(to)}`);
    if (r.kind === 'individual') return { recipient_type: 'individual', to: r.to };
    if (r.kind === 'bsuid') return { recipient_type: 'individual', recipient: r.recipient };
    if (r.opaque !== undefined) return { recipient_type: 'group', to: r.opaque };
    return { recipient_type: 'group', to: encodeGroupId(await displayDigits(ch), r.groupId ?? '') };
  }

  async function postMessages(ch: Ch, body: unknown, what: string): Promise<ProviderResponse> {
    return call(
      ch,
      'POST',
      `${graphBase(ch.credentials)}/${ch.credentials.phoneNumberId}/messages`,
      body,
      what,
    );
  }

  return {
    async testConnection(ch) {
      const info = await phoneInfo(ch);
      const name = str(info.verified_name);
      const number = str(info.display_phone_number);
      const quality = str(info.quality_rating);
      return {
        ok: true,
        detail: [name, number, quality && `quality ${quality}`].filter(Boolean).join(' · ') || 'connected',
      };
    },

    async send(ch, req: SendRequest): Promise<SendResult> {
      const problems = validateContent(req.content);
      if (problems.length > 0) throw invalid(problems.join('; '));
      const body = buildMessageBody(await recipientFields(ch, req.to), req.content, {
        ...(req.replyTo ? { replyTo: req.replyTo } : {}),
        clientRef: req.clientRef,
      });
      const res = await postMessages(ch, body, `send ${req.content.type}`);
      const id =
        isRecord(res.json) && Array.isArray(res.json.messages) && isRecord(res.json.messages[0])
          ? str(res.json.messages[0].id)
          : undefined;
      if (!id) throw malformed('send', res);
      return { providerMessageId: id };
    },

    async markRead(ch, p) {
      await postMessages(ch, buildMarkReadBody(p.providerMessageId), 'mark read');
    },

    async showTyping(ch, p) {
      await postMessages(ch, buildMarkReadBody(p.providerMessageId, true), 'typing indicator');
    },

    media: {
      async upload(ch, file) {
        const form = new FormData();
        form.set('messaging_product', 'whatsapp');
        form.set('type', file.mimeType);
        form.set('file', new Blob([file.data], { type: file.mimeType }), file.filename ?? 'file');
        const res = await call(
          ch,
          'POST',
          `${graphBase(ch.credentials)}/${ch.credentials.phoneNumberId}/media`,
          form,
          'media upload',
        );
        const id = isRecord(res.json) ? str(res.json.id) : undefined;
        if (!id) throw malformed('media upload', res);
        return { id };
      },
      async download(ch, mediaId) {
        const base = graphBase(ch.credentials);
        const meta = await call(
          ch,
          'GET',
          `${base}/${encodeURIComponent(mediaId)}?phone_number_id=${ch.credentials.phoneNumberId}`,
          undefined,
          'media lookup',
        );
        const url = isRecord(meta.json) ? str(meta.json.url) : undefined;
        if (!url || !/^https?:\/\//.test(url)) throw malformed('media lookup', meta);
        // The URL is short-lived (5 min) and still needs the bearer token.
        const file = await call(ch, 'GET', url, undefined, 'media download', MEDIA_TIMEOUT_MS);
        const mimeType =
          (isRecord(meta.json) ? str(meta.json.mime_type) : undefined) ??
          file.headers.get('content-type') ??
          'application/octet-stream';
        return { data: file.bytes, mimeType };
      },
    },

    templates: {
      async list(ch) {
        const out: ProviderTemplate[] = [];
        const seen = new Set<string>();
        let after: string | undefined;
        for (let page = 0; page < TEMPLATE_MAX_PAGES; page++) {
          const q = new URLSearchParams({ limit: String(TEMPLATE_PAGE_SIZE) });
          if (after) q.set('after', after);
          const res = await call(
            ch,
            'GET',
            `${graphBase(ch.credentials)}/${ch.credentials.wabaId}/message_templates?${q}`,
            undefined,
            'template list',
          );
          if (!isRecord(res.json) || !Array.isArray(res.json.data)) throw malformed('template list', res);
          for (const t of res.json.data) {
            const tpl = toTemplate(t);
            if (tpl) out.push(tpl);
          }
          const paging = isRecord(res.json.paging) ? res.json.paging : undefined;
          const next = isRecord(paging?.cursors) ? str(paging.cursors.after) : undefined;
          // Graph drops `paging.next` on the last page but keeps the cursors; a full page without
          // `next` (seen behind some proxies) is still followed, an empty one never is.
          const more =
            next !== undefined &&
            !seen.has(next) &&
            res.json.data.length > 0 &&
            (paging?.next !== undefined || res.json.data.length >= TEMPLATE_PAGE_SIZE);
          if (!more) break;
          seen.add(next);
          after = next;
        }
        return out;
      },
    },
  };
}

function toTemplate(t: unknown): ProviderTemplate | undefined {
  if (!isRecord(t)) return undefined;
  const id = str(t.id);
  const name = str(t.name);
  if (!id || !name) return undefined;
  const category = str(t.category);
  return {
    id,
    name,
    language: str(t.language) ?? '',
    status: str(t.status) ?? 'UNKNOWN',
    ...(category ? { category } : {}),
    components: Array.isArray(t.components) ? t.components : [],
  };
}

function invalid(message: string): ProviderError {
  return new ProviderError({ kind: 'invalid_request', retryable: false, message });
}

function malformed(what: string, res: ProviderResponse): ProviderError {
  return new ProviderError({
    kind: 'unknown',
    retryable: false,
    message: `${what}: unexpected answer (HTTP ${res.status})`,
    httpStatus: res.status,
  });
}
