import type { ContactCard, OutboundContent, SendRequest } from '../../core/canonical.js';
import { parseAddress, phoneDigits } from '../../core/address.js';
import { ProviderError } from '../../core/errors.js';

/**
 * Canonical outbound message → UltraMsg endpoint + form fields (field names from the official PHP
 * SDK `ultramsg.class.php`; reaction from TrueSelph/ultramsg_action). Every value is a string
 * because the body is `application/x-www-form-urlencoded`, the encoding UltraMsg documents.
 */
export interface UltramsgCall {
  endpoint: string;
  fields: Record<string, string>;
}

/** UltraMsg's default queue priority (PHP SDK `$priority = 10`). */
const PRIORITY = '10';

function reject(message: string): never {
  throw new ProviderError({ kind: 'invalid_request', retryable: false, message: `UltraMsg: ${message}`, providerCode: 'unsupported' });
}

/**
 * UltraMsg `to`: `+E164` for people (the form its docs show first), `…@g.us` groups verbatim. Its
 * `to` takes nothing else: no `@lid`, no business-scoped ids (it answers "to invalid phone number or
 * chatID").
 */
export function ultramsgTo(canonical: string): string {
  const a = parseAddress(canonical);
  if (!a) reject(`not an address: ${canonical}`);
  if (a.kind !== 'phone' && a.kind !== 'group') reject(`can send to phone numbers and groups only (${canonical})`);
  return a.value;
}

/** UltraMsg's `address` under a location pin holds at most this many characters. */
const LOCATION_TEXT_MAX = 300;

/**
 * What an UltraMsg line cannot send, as the message the send would fail with — run at accept
 * (`checkContent` / `checkRecipient`), so it is a 422 there rather than a failure after the 202.
 * The rules live once, in the payload builder below.
 */
export function ultramsgRefusal(build: () => unknown): string | undefined {
  try {
    build();
    return undefined;
  } catch (err) {
    if (err instanceof ProviderError && err.kind === 'invalid_request') return err.message;
    throw err;
  }
}

function mediaUrl(c: { media: { url: string } | { id: string } }): string {
  if ('url' in c.media) return c.media.url;
  // UltraMsg has no media store to refer to; callers must send a link.
  return reject('UltraMsg sends media by URL only, not by media id');
}

/** Filename UltraMsg requires for documents: the given one, else the URL's last path segment. */
function documentFilename(url: string, given?: string): string {
  if (given) return given;
  try {
    const last = new URL(url).pathname.split('/').filter(Boolean).pop();
    if (last) return decodeURIComponent(last);
  } catch {
    // not a URL (UltraMsg also takes base64); fall through
  }
  return 'document';
}

function escapeVcard(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/([,;])/g, '\\$1');
}

/** vCard 3.0 text for one canonical contact card (what WhatsApp itself sends). */
export function toVcard(card: ContactCard): string {
  const lines = ['BEGIN:VCARD', 'VERSION:3.0', `FN:${escapeVcard(card.name.formatted)}`];
  if (card.name.first || card.name.last) lines.push(`N:${escapeVcard(card.name.last ?? '')};${escapeVcard(card.name.first ?? '')};;;`);
  if (card.org?.company) lines.push(`ORG:${escapeVcard(card.org.company)}`);
  if (card.org?.title) lines.push(`TITLE:${escapeVcard(card.org.title)}`);
  for (const p of card.phones ?? []) {
    const wa = p.waId ?? phoneDigits(p.phone).replace(/\D/g, '');
    lines.push(`TEL;type=${(p.type ?? 'CELL').toUpperCase()};waid=${wa}:${p.phone}`);
  }
  for (const e of card.emails ?? []) lines.push(`EMAIL;type=${(e.type ?? 'INTERNET').toUpperCase()}:${e.email}`);
  lines.push('END:VCARD');
  return lines.join('\n');
}

export function contentCall(content: OutboundContent): UltramsgCall {
  switch (content.type) {
    case 'text':
      return { endpoint: 'messages/chat', fields: { body: content.text } };
    case 'image':
      return { endpoint: 'messages/image', fields: { image: mediaUrl(content), caption: content.caption ?? '', nocache: 'false' } };
    case 'video':
      return { endpoint: 'messages/video', fields: { video: mediaUrl(content), caption: content.caption ?? '' } };
    case 'audio': {
      // `messages/voice` sends a push-to-talk note, which WhatsApp only plays for OGG/Opus.
      const voice = /ogg|opus/i.test(content.media.mimeType ?? '');
      return voice
        ? { endpoint: 'messages/voice', fields: { audio: mediaUrl(content) } }
        : { endpoint: 'messages/audio', fields: { audio: mediaUrl(content) } };
    }
    case 'document': {
      const url = mediaUrl(content);
      return {
        endpoint: 'messages/document',
        fields: { document: url, filename: documentFilename(url, content.filename), caption: content.caption ?? '' },
      };
    }
    case 'sticker':
      return { endpoint: 'messages/sticker', fields: { sticker: mediaUrl(content) } };
    case 'location': {
      // UltraMsg shows `address` as the text under the pin; name and address both belong there.
      const text = [content.name, content.address].filter(Boolean).join('\n');
      if (text.length > LOCATION_TEXT_MAX) reject(`location name and address together must be at most ${LOCATION_TEXT_MAX} characters`);
      const address = text || `${content.latitude},${content.longitude}`;
      return { endpoint: 'messages/location', fields: { address, lat: String(content.latitude), lng: String(content.longitude) } };
    }
    case 'contacts': {
      if (content.contacts.length === 0) reject('contacts message without a contact');
      if (content.contacts.length === 1) return { endpoint: 'messages/vcard', fields: { vcard: toVcard(content.contacts[0]!) } };
      // One vCard per message; several contacts go through `messages/contact`, which takes
      // comma-separated WhatsApp ids and shows each person's own profile (names are WhatsApp's).
      const ids = content.contacts.map((c) => {
        const p = c.phones?.[0];
        const digits = p ? (p.waId ?? p.phone.replace(/\D/g, '')) : '';
        if (!digits) reject('when several contacts are sent, each needs a phone number');
        return `${digits}@c.us`;
      });
      if (ids.length > 50) reject('at most 50 contacts per message');
      return { endpoint: 'messages/contact', fields: { contact: ids.join(',') } };
    }
    case 'reaction':
      if (content.emoji === '') reject('cannot remove a reaction (emoji "")');
      return { endpoint: 'messages/reaction', fields: { msgId: content.messageId, emoji: content.emoji } };
    case 'template':
      return reject('templates are a Cloud API feature');
    case 'interactive':
      return reject('interactive buttons and lists are not available on UltraMsg');
  }
}

/**
 * The full call for a send request. `referenceId` carries our message id so UltraMsg's webhooks
 * (and its `GET messages?referenceId=`) can be matched back to it; `msgId` makes it a reply.
 */
export function buildSendCall(req: SendRequest): UltramsgCall {
  const call = contentCall(req.content);
  if (req.content.type === 'reaction') {
    // Reactions address the message, not the chat (TrueSelph `send_reaction(msgId, emoji)`).
    return call;
  }
  const fields: Record<string, string> = { to: ultramsgTo(req.to), ...call.fields, priority: PRIORITY, referenceId: req.clientRef };
  if (req.replyTo) fields.msgId = req.replyTo;
  return { endpoint: call.endpoint, fields };
}
