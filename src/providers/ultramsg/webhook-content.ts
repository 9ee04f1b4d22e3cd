import type { ContactCard, InboundContent } from '../../core/canonical.js';
import { normalizeAddress } from '../../core/address.js';
import { isRecord, lookup, str } from '../http.js';
import { WEBJS_MEDIA_TYPES } from '../whatsapp-web.js';

/**
 * `data` of an UltraMsg message webhook → canonical content. Only `chat` is confirmed by an official
 * example; the other type names are whatsapp-web.js's, which UltraMsg appears to pass through
 * (CONTRACTS §3.4 UNCERTAIN). For media, `media` is the download URL ("" until downloaded) and
 * `body` the caption. Anything else becomes `unsupported`, never dropped.
 */

const MEDIA = WEBJS_MEDIA_TYPES;

function num(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function unescapeVcard(s: string): string {
  return s.replace(/\\n/gi, '\n').replace(/\\([,;\\])/g, '$1');
}

/** Minimal vCard reader: FN, N, ORG, TEL (with `waid=`), EMAIL. Folded lines are unfolded first. */
export function parseVcard(text: string): ContactCard | null {
  const lines = text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/);
  let formatted: string | undefined;
  let first: string | undefined;
  let last: string | undefined;
  let company: string | undefined;
  const phones: NonNullable<ContactCard['phones']> = [];
  const emails: NonNullable<ContactCard['emails']> = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const head = line.slice(0, colon).toUpperCase();
    const value = line.slice(colon + 1).trim();
    const name = head.split(';')[0]?.replace(/^ITEM\d+\./, '');
    if (name === 'FN') formatted = unescapeVcard(value);
    else if (name === 'N') [last, first] = value.split(';').map(unescapeVcard);
    else if (name === 'ORG') company = unescapeVcard(value.split(';')[0] ?? '');
    else if (name === 'TEL' && value) {
      const waid = /WAID=(\d+)/.exec(head)?.[1];
      const phone = normalizeAddress(waid ?? value) ?? value;
      phones.push(waid ? { phone, waId: waid } : { phone });
    } else if (name === 'EMAIL' && value) emails.push({ email: value });
  }
  const display = formatted || [first, last].filter(Boolean).join(' ') || phones[0]?.phone;
  if (!display) return null;
  const card: ContactCard = { name: { formatted: display } };
  if (first) card.name.first = first;
  if (last) card.name.last = last;
  if (phones.length) card.phones = phones;
  if (emails.length) card.emails = emails;
  if (company) card.org = { company };
  return card;
}

export function contentFromData(data: Record<string, unknown>): InboundContent {
  const type = str(data.type)?.toLowerCase() ?? '';
  const body = str(data.body) ?? '';
  if (type === 'chat' || type === 'text') return { type: 'text', text: body };
  const media = lookup(MEDIA, type);
  if (media) {
    const url = str(data.media);
    const ref: { url?: string; mimeType?: string; filename?: string } = {};
    if (url) ref.url = url;
    const mime = str(data.mimetype) ?? str(data.mimeType);
    if (mime) ref.mimeType = mime;
    const filename = str(data.filename);
    if (filename) ref.filename = filename;
    const out: InboundContent = { type: media, media: ref };
    // whatsapp-web.js puts a base64 thumbnail in `body` for stickers; only treat text as a caption.
    if (body && media !== 'sticker' && media !== 'voice' && media !== 'audio') out.caption = body;
    return out;
  }
  if (type === 'location') {
    const loc = isRecord(data.location) ? data.location : {};
    const latitude = num(loc.latitude ?? loc.lat);
    const longitude = num(loc.longitude ?? loc.lng);
    if (latitude === undefined || longitude === undefined || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) {
      return { type: 'unsupported', providerType: 'location' };
    }
    const out: InboundContent = { type: 'location', latitude, longitude };
    const name = str(loc.description) ?? str(loc.name);
    if (name) out.name = name;
    const address = str(loc.address);
    if (address) out.address = address;
    return out;
  }
  if (type === 'vcard' || type === 'multi_vcard') {
    const texts = Array.isArray(data.vCards) ? data.vCards.map(str).filter((s): s is string => !!s) : [body];
    const contacts = texts.map(parseVcard).filter((c): c is ContactCard => c !== null);
    return contacts.length ? { type: 'contacts', contacts } : { type: 'unsupported', providerType: type };
  }
  return { type: 'unsupported', providerType: type || 'unknown' };
}
