import type { DeliveryStatus, InboundContent, InboundEvent, ProviderErrorInfo } from '../../core/canonical.js';
import { normalizeAddress } from '../../core/address.js';
import { hmac, safeEqual } from '../../core/signatures.js';
import { isRecord, str } from '../http.js';
import type { RawWebhook, WebhookHandler, WebhookParseResult } from '../types.js';
import type { SandboxCredentials } from './credentials.js';
import { SIGNATURE_HEADER } from './protocol.js';
import { parseWebhookJson, storableTime } from '../json.js';

/**
 * Sandbox webhooks (format in protocol.ts): `{"lineId", "events":[…]}`, signed with
 * `X-Sandbox-Signature: sha256=<hex HMAC-SHA256(line secret, raw body)>`. Parsed as strictly as a
 * real provider's: the sandbox is reachable on loopback only, but the parser does not rely on that.
 */

const STATUSES: readonly DeliveryStatus[] = ['sent', 'delivered', 'read', 'played', 'failed'];
const MEDIA = ['image', 'video', 'audio', 'voice', 'document', 'sticker'] as const;
const MAX_EVENTS = 1000;

type Result = { event: InboundEvent } | { error: 'malformed' | 'unsupported'; detail: string };

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= 512 ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function content(c: unknown): InboundContent {
  if (!isRecord(c)) return { type: 'unsupported', providerType: 'missing' };
  const type = str(c.type) ?? 'unknown';
  if (type === 'text' && typeof c.text === 'string') return { type: 'text', text: c.text };
  if ((MEDIA as readonly string[]).includes(type) && isRecord(c.media) && nonEmpty(c.media.url)) {
    const media: { url: string; mimeType?: string; filename?: string } = { url: c.media.url as string };
    if (nonEmpty(c.media.mimeType)) media.mimeType = c.media.mimeType as string;
    if (nonEmpty(c.media.filename)) media.filename = c.media.filename as string;
    const out: InboundContent = { type: type as (typeof MEDIA)[number], media };
    if (typeof c.caption === 'string') out.caption = c.caption;
    return out;
  }
  const lat = num(c.latitude);
  const lng = num(c.longitude);
  if (type === 'location' && lat !== undefined && lng !== undefined && Math.abs(lat) <= 90 && Math.abs(lng) <= 180) {
    const out: InboundContent = { type: 'location', latitude: lat, longitude: lng };
    if (nonEmpty(c.name)) out.name = c.name as string;
    if (nonEmpty(c.address)) out.address = c.address as string;
    return out;
  }
  if (type === 'reaction' && nonEmpty(c.messageId) && typeof c.emoji === 'string') return { type: 'reaction', messageId: c.messageId as string, emoji: c.emoji };
  return { type: 'unsupported', providerType: type.slice(0, 64) };
}

function errorInfo(e: unknown): ProviderErrorInfo | undefined {
  if (!isRecord(e) || !nonEmpty(e.code)) return undefined;
  const info: ProviderErrorInfo = { code: e.code as string, title: nonEmpty(e.title) ?? 'delivery failed' };
  if (nonEmpty(e.detail)) info.detail = e.detail as string;
  return info;
}

function parseEvent(e: unknown, externalId: string): Result {
  if (!isRecord(e)) return { error: 'malformed', detail: 'event is not an object' };
  const ts = typeof e.timestamp === 'string' ? storableTime(new Date(e.timestamp)) : undefined;
  if (!ts) return { error: 'malformed', detail: 'timestamp is not an ISO 8601 time between years 1 and 9999' };
  if (e.type === 'message') {
    const m = e.message;
    if (!isRecord(m) || !nonEmpty(m.id)) return { error: 'malformed', detail: 'message.id missing' };
    const from = normalizeAddress(str(m.from) ?? '');
    if (!from) return { error: 'malformed', detail: 'message.from is not an address' };
    const event: InboundEvent = {
      kind: 'message.received',
      externalId,
      dedupeKey: `msg:${m.id as string}`,
      timestamp: ts,
      providerMessageId: m.id as string,
      chat: from,
      from,
      fromMe: false,
      content: content(m.content),
    };
    if (nonEmpty(m.profileName)) event.profileName = m.profileName as string;
    if (nonEmpty(m.replyTo)) event.replyTo = m.replyTo as string;
    return { event };
  }
  if (e.type === 'status') {
    const s = e.status;
    if (!isRecord(s) || !nonEmpty(s.messageId)) return { error: 'malformed', detail: 'status.messageId missing' };
    const status = STATUSES.find((x) => x === s.status);
    if (!status) return { error: 'unsupported', detail: `status ${String(s.status).slice(0, 32)} not handled` };
    const event: InboundEvent = {
      kind: 'message.status',
      externalId,
      dedupeKey: `status:${s.messageId as string}:${status}`,
      timestamp: ts,
      providerMessageId: s.messageId as string,
      status,
    };
    const recipient = normalizeAddress(str(s.recipient) ?? '');
    if (recipient) event.recipient = recipient;
    const error = errorInfo(s.error);
    if (error) event.error = error;
    return { event };
  }
  return { error: 'unsupported', detail: `event type ${String(e.type).slice(0, 32)} not handled` };
}

function body(raw: RawWebhook): Record<string, unknown> | undefined {
  try {
    const v: unknown = parseWebhookJson(raw.body);
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export const sandboxWebhook: WebhookHandler<SandboxCredentials> = {
  // Routed by the per-channel URL token like WAHA/UltraMsg; the body's lineId is checked in verify.
  routingKeys: () => [],

  verify(raw, credentials) {
    try {
      const header = raw.headers[SIGNATURE_HEADER] ?? '';
      const expected = `sha256=${hmac('sha256', credentials.secret, raw.body, 'hex')}`;
      if (!safeEqual(header.trim().toLowerCase(), expected)) return false;
      // A valid signature from another line sharing the secret is still not this line's event.
      return body(raw)?.lineId === credentials.lineId;
    } catch {
      return false;
    }
  },

  parse(raw): WebhookParseResult {
    try {
      const b = body(raw);
      if (!b) return { ok: false, reason: 'malformed', detail: 'body is not a JSON object' };
      const lineId = nonEmpty(b.lineId);
      if (!lineId) return { ok: false, reason: 'malformed', detail: 'lineId missing' };
      if (!Array.isArray(b.events) || b.events.length > MAX_EVENTS) return { ok: false, reason: 'malformed', detail: 'events must be an array' };
      const events: InboundEvent[] = [];
      for (const e of b.events) {
        const r = parseEvent(e, lineId);
        if ('error' in r) return { ok: false, reason: r.error, detail: r.detail };
        events.push(r.event);
      }
      return { ok: true, events };
    } catch (err) {
      return { ok: false, reason: 'malformed', detail: `unparseable: ${String(err).slice(0, 100)}` };
    }
  },
};
