import type { ContactCard, InboundContent, ProviderErrorInfo } from '../../core/canonical.js';
import { isRecord, str } from '../http.js';
import { toErrorInfo } from './errors.js';

/**
 * One Cloud API `messages[]` item → canonical inbound content. Total: every input gives content;
 * what we do not model (or a known type with a broken body) becomes `unsupported` carrying the
 * provider's type, so a message is never dropped.
 */
export function inboundContent(m: Record<string, unknown>): InboundContent {
  const type = str(m.type) ?? 'unknown';
  const body = isRecord(m[type]) ? (m[type] as Record<string, unknown>) : undefined;
  const errors = errorsOf(m.errors);
  // The body goes along: a Flow's form answers (interactive.nfm_reply) or a type Meta adds later are
  // the customer's words, and the inbox row is gone once processed (review of 2026-12-01).
  const unsupported = (providerType = type): InboundContent => ({
    type: 'unsupported',
    providerType,
    ...(errors.length > 0 ? { errors } : {}),
    ...(body !== undefined ? { raw: body } : {}),
  });

  switch (type) {
    case 'text': {
      const text = str(body?.body);
      return text === undefined ? unsupported() : { type: 'text', text };
    }
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker':
    case 'voice': {
      // `voice` is the legacy (On-Premises API) type for voice notes; same object as audio.
      if (!body) return unsupported();
      const media = compact({
        id: str(body.id),
        url: str(body.url),
        mimeType: str(body.mime_type),
        sha256: str(body.sha256),
        filename: str(body.filename),
      });
      const caption = str(body.caption);
      // Voice notes arrive as audio with `voice: true`; the inbox shows them differently.
      const kind = type === 'voice' || (type === 'audio' && body.voice === true) ? 'voice' : type;
      return caption === undefined ? { type: kind, media } : { type: kind, media, caption };
    }
    case 'location': {
      const lat = num(body?.latitude);
      const lng = num(body?.longitude);
      if (lat === undefined || lng === undefined) return unsupported();
      return {
        type: 'location',
        latitude: lat,
        longitude: lng,
        ...compact({ name: str(body?.name), address: str(body?.address) }),
      };
    }
    case 'contacts': {
      const list = Array.isArray(m.contacts) ? m.contacts : undefined;
      if (!list) return unsupported();
      return { type: 'contacts', contacts: list.filter(isRecord).map(contactCard) };
    }
    case 'reaction': {
      const messageId = str(body?.message_id);
      if (!messageId) return unsupported();
      // Removal: Meta omits `emoji` or sends "".
      return { type: 'reaction', messageId, emoji: str(body?.emoji) ?? '' };
    }
    case 'interactive':
      return interactive(body) ?? unsupported(`interactive.${str(body?.type) ?? 'unknown'}`);
    case 'button': {
      const payload = str(body?.payload);
      const text = str(body?.text);
      if (payload === undefined && text === undefined) return unsupported();
      return { type: 'button', payload: payload ?? text ?? '', text: text ?? payload ?? '' };
    }
    case 'system': {
      const text = str(body?.body) ?? '';
      const systemType = str(body?.type);
      return systemType === undefined ? { type: 'system', text } : { type: 'system', text, systemType };
    }
    case 'request_welcome':
      // A user opened the chat for the first time (no content): a system event for the inbox.
      return { type: 'system', text: '', systemType: 'request_welcome' };
    case 'order':
      return body ? { type: 'order', order: body } : unsupported();
    default:
      // `unsupported`, legacy `unknown`, and any type Meta adds later.
      return unsupported();
  }
}

function interactive(body: Record<string, unknown> | undefined): InboundContent | undefined {
  const kind = str(body?.type);
  if (kind === 'button_reply' || kind === 'list_reply') {
    const r = body?.[kind];
    if (!isRecord(r)) return undefined;
    const id = str(r.id);
    if (id === undefined) return undefined;
    const description = str(r.description);
    return {
      type: 'interactive_reply',
      kind: kind === 'button_reply' ? 'button' : 'list',
      id,
      title: str(r.title) ?? '',
      ...(description === undefined ? {} : { description }),
    };
  }
  // nfm_reply (Flows), call_permission_reply: no canonical shape yet → unsupported (kept, typed).
  return undefined;
}

function contactCard(c: Record<string, unknown>): ContactCard {
  const n = isRecord(c.name) ? c.name : {};
  const formatted =
    str(n.formatted_name) ?? ([str(n.first_name), str(n.last_name)].filter(Boolean).join(' ') || '');
  const card: ContactCard = {
    name: { formatted, ...compact({ first: str(n.first_name), last: str(n.last_name) }) },
  };
  if (Array.isArray(c.phones)) {
    card.phones = c.phones.filter(isRecord).flatMap((p) => {
      const phone = str(p.phone) ?? str(p.wa_id);
      return phone === undefined ? [] : [{ phone, ...compact({ type: str(p.type), waId: str(p.wa_id) }) }];
    });
  }
  if (Array.isArray(c.emails)) {
    card.emails = c.emails.filter(isRecord).flatMap((e) => {
      const email = str(e.email);
      return email === undefined ? [] : [{ email, ...compact({ type: str(e.type) }) }];
    });
  }
  if (isRecord(c.org)) card.org = compact({ company: str(c.org.company), title: str(c.org.title) });
  return card;
}

export function errorsOf(v: unknown): ProviderErrorInfo[] {
  return Array.isArray(v) ? v.map(toErrorInfo).filter((e): e is ProviderErrorInfo => e !== undefined) : [];
}

function num(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function compact<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
