import type { InboundContent, MediaType } from '../../core/canonical.js';
import { isRecord, lookup, str } from '../http.js';
import { canonicalAddress, isGroupJid, parseSerializedId, serializeId, toWahaJid } from './ids.js';
import { parseVcard } from './vcard.js';
import { WEBJS_MEDIA_TYPES } from '../whatsapp-web.js';

/**
 * WAHA `WAMessage` (webhook `message` / `message.any` payloads and chat history) → canonical message
 * fields. Shared by the webhook parser and the history reads so both see a message the same way.
 */

export interface WahaMe {
  id?: string;
  lid?: string;
}

export interface CanonicalMessage {
  providerMessageId: string;
  chat: string;
  from: string;
  fromMe: boolean;
  timestamp: Date | undefined;
  profileName?: string;
  replyTo?: string;
  content: InboundContent;
}

type Rec = Record<string, unknown>;

/** Unix seconds (WAHA message timestamps; may be fractional or a numeric string) → Date. */
export function secondsToDate(v: unknown): Date | undefined {
  const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > 1e11) return undefined;
  return new Date(Math.round(n * 1000));
}

/**
 * The WAHA chat id of a message. For messages we sent `from` may be our own id, so the chat is the
 * recipient (`to`) or the chat embedded in the serialized id.
 */
/** `fromMe`, or when an old/abridged payload omits it, the `true_`/`false_` prefix of the id. */
function isFromMe(p: Rec): boolean {
  if (typeof p.fromMe === 'boolean') return p.fromMe;
  return typeof p.id === 'string' && p.id.startsWith('true_');
}

function chatJid(p: Rec): string | undefined {
  const from = str(p.from);
  if (!isFromMe(p)) return from;
  const fromId = typeof p.id === 'string' ? parseSerializedId(p.id)?.chat : undefined;
  if (isGroupJid(from)) return from;
  return fromId ?? str(p.to) ?? from;
}

export function toCanonicalMessage(p: unknown, me?: WahaMe): CanonicalMessage | undefined {
  if (!isRecord(p) || typeof p.id !== 'string' || p.id.length === 0 || p.id.length > 512) return undefined;
  const jid = chatJid(p);
  const chat = canonicalAddress(jid);
  if (!chat || !jid) return undefined;
  const fromMe = isFromMe(p);
  const group = isGroupJid(jid);
  // Outside groups the peer is the conversation; in groups the writer is `participant` (often @lid).
  const from = group ? (canonicalAddress(p.participant) ?? canonicalAddress(p.author) ?? chat) : chat;
  const data = isRecord(p._data) ? p._data : {};
  const out: CanonicalMessage = {
    providerMessageId: p.id,
    chat,
    from,
    fromMe,
    timestamp: secondsToDate(p.timestamp),
    content: messageContent(p, data, jid),
  };
  const profileName = fromMe ? undefined : (str(data.notifyName) ?? str(data.pushName) ?? str(data.pushname));
  if (profileName) out.profileName = profileName.slice(0, 256);
  const replyTo = replyToId(p.replyTo, jid, me);
  if (replyTo) out.replyTo = replyTo;
  return out;
}

/**
 * WAHA gives the quoted message as a bare id (`AAAA…`). In a 1:1 chat the serialized form is
 * rebuilt when we can tell who wrote the quoted message (its `participant` is the peer or us);
 * otherwise the bare id is returned and callers match on the id suffix.
 */
function replyToId(r: unknown, jid: string, me?: WahaMe): string | undefined {
  if (!isRecord(r) || typeof r.id !== 'string' || !r.id || r.id.length > 512) return undefined;
  if (r.id.includes('_') || isGroupJid(jid)) return r.id;
  const who = str(r.participant);
  if (!who) return r.id;
  const mine = [me?.id, me?.lid].filter((x): x is string => !!x).map(toWahaJid);
  if (toWahaJid(who) === jid) return serializeId({ fromMe: false, chat: jid, id: r.id });
  if (mine.includes(toWahaJid(who))) return serializeId({ fromMe: true, chat: jid, id: r.id });
  return r.id;
}

const WEBJS_MEDIA = WEBJS_MEDIA_TYPES;
const SYSTEM_TYPES = new Set(['e2e_notification', 'notification', 'notification_template', 'gp2', 'call_log', 'protocol', 'revoked', 'broadcast_notification']);

function mediaKind(data: Rec, mimetype: string | undefined): MediaType | 'voice' {
  const t = str(data.type);
  const media = t ? lookup(WEBJS_MEDIA, t) : undefined;
  if (media) return media;
  const m = isRecord(data.message) ? data.message : {};
  if (isRecord(m.stickerMessage)) return 'sticker';
  if (isRecord(m.imageMessage)) return 'image';
  if (isRecord(m.videoMessage) || isRecord(m.ptvMessage)) return 'video';
  if (isRecord(m.audioMessage)) return m.audioMessage.ptt === true ? 'voice' : 'audio';
  if (isRecord(m.documentMessage) || isRecord(m.documentWithCaptionMessage)) return 'document';
  const mt = (mimetype ?? '').toLowerCase();
  // WhatsApp stickers are WebP; photos are re-encoded as JPEG. Voice notes are Ogg/Opus.
  if (mt.startsWith('image/webp')) return 'sticker';
  if (mt.startsWith('image/')) return 'image';
  if (mt.startsWith('video/')) return 'video';
  if (mt.startsWith('audio/ogg') && mt.includes('opus')) return 'voice';
  if (mt.startsWith('audio/')) return 'audio';
  return 'document';
}

function interactiveReply(p: Rec, data: Rec): InboundContent | undefined {
  const body = str(p.body) ?? '';
  if (data.type === 'buttons_response' && typeof data.selectedButtonId === 'string') {
    return { type: 'interactive_reply', kind: 'button', id: data.selectedButtonId, title: body };
  }
  if (data.type === 'list_response' && isRecord(data.listResponse)) {
    const lr = data.listResponse;
    const id = isRecord(lr.singleSelectReply) ? str(lr.singleSelectReply.selectedRowId) : undefined;
    if (id) return { type: 'interactive_reply', kind: 'list', id, title: str(lr.title) ?? body, ...(str(lr.description) ? { description: str(lr.description)! } : {}) };
  }
  const m = isRecord(data.message) ? data.message : {};
  if (isRecord(m.listResponseMessage)) {
    const lr = m.listResponseMessage;
    const id = isRecord(lr.singleSelectReply) ? str(lr.singleSelectReply.selectedRowId) : undefined;
    if (id) return { type: 'interactive_reply', kind: 'list', id, title: str(lr.title) ?? body, ...(str(lr.description) ? { description: str(lr.description)! } : {}) };
  }
  if (isRecord(m.buttonsResponseMessage) && typeof m.buttonsResponseMessage.selectedButtonId === 'string') {
    const b = m.buttonsResponseMessage;
    return { type: 'interactive_reply', kind: 'button', id: b.selectedButtonId as string, title: str(b.selectedDisplayText) ?? body };
  }
  return undefined;
}

export function messageContent(p: Rec, data: Rec, jid: string): InboundContent {
  const loc = p.location;
  if (isRecord(loc)) {
    const latitude = Number(loc.latitude);
    const longitude = Number(loc.longitude);
    if (Number.isFinite(latitude) && Number.isFinite(longitude) && loc.latitude !== null && loc.longitude !== null) {
      const name = str(loc.name) ?? str(loc.description);
      const address = str(loc.address);
      return { type: 'location', latitude, longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) };
    }
  }
  if (Array.isArray(p.vCards) && p.vCards.length > 0) {
    const contacts = p.vCards.filter((v): v is string => typeof v === 'string').slice(0, 50).map(parseVcard).filter((c) => c !== undefined);
    if (contacts.length > 0) return { type: 'contacts', contacts };
  }
  const reply = interactiveReply(p, data);
  if (reply) return reply;
  // NOWEB used to deliver reactions as ordinary messages (WAHA docs note); keep them reactions.
  const m = isRecord(data.message) ? data.message : {};
  if (isRecord(m.reactionMessage) && isRecord(m.reactionMessage.key) && typeof m.reactionMessage.key.id === 'string') {
    const key = m.reactionMessage.key;
    const target = serializeId({ fromMe: key.fromMe === true, chat: toWahaJid(str(key.remoteJid) ?? jid), id: key.id as string });
    return { type: 'reaction', messageId: target, emoji: str(m.reactionMessage.text) ?? '' };
  }
  const body = typeof p.body === 'string' ? p.body : undefined;
  const media = isRecord(p.media) ? p.media : undefined;
  if (p.hasMedia === true || media) {
    const mimeType = media ? str(media.mimetype) : undefined;
    const kind = mediaKind(data, mimeType);
    const url = media ? str(media.url) : undefined;
    const filename = media ? str(media.filename) : undefined;
    return {
      type: kind,
      // `media: null` (or a download error) means WAHA did not fetch the file: still a media message.
      media: { ...(url ? { url } : {}), ...(mimeType ? { mimeType } : {}), ...(filename ? { filename } : {}) },
      ...(body && kind !== 'sticker' && kind !== 'voice' ? { caption: body } : {}),
    };
  }
  const t = str(data.type);
  if (t && SYSTEM_TYPES.has(t)) return { type: 'system', text: body ?? '', systemType: t };
  if (body !== undefined && body.length > 0 && (!t || t === 'chat')) return { type: 'text', text: body };
  const messageKind = Object.keys(m)[0];
  return { type: 'unsupported', providerType: t ?? messageKind ?? (body === '' ? 'empty' : 'unknown') };
}
