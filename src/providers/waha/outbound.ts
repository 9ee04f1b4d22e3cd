import type { MediaRef, OutboundContent, OutboundContentType, SendRequest } from '../../core/canonical.js';
import { toChatId } from '../../core/address.js';
import { ProviderError } from '../../core/errors.js';
import type { WahaCall } from './client.js';
import { buildVcard } from './vcard.js';

/**
 * Canonical outbound content → the WAHA endpoint and body. The session goes in the BODY on every
 * send endpoint (WAHA 2024+). Optional fields are only written when set, so a plain text is exactly
 * the documented `{session, chatId, text}`.
 *
 * Endpoint choices:
 *  - image → /api/sendImage; video → /api/sendVideo; audio → /api/sendVoice (WhatsApp renders audio
 *    as a voice note; send an audio file as a document to keep it a file); document → /api/sendFile.
 *  - sticker: WAHA has no sticker endpoint; sending WebP through sendImage/sendFile would arrive as a
 *    photo or a file, so stickers are refused rather than silently changed.
 *  - interactive lists → /api/sendList. Reply buttons are refused: `/api/sendButtons` is deprecated in
 *    WAHA 2026.7.1 and WhatsApp no longer renders them for WhatsApp-Web sessions reliably.
 *  - templates are a Cloud API concept: refused.
 */

export const WAHA_CONTENT: readonly OutboundContentType[] = ['text', 'image', 'video', 'audio', 'document', 'location', 'contacts', 'reaction', 'interactive'];

function refuse(message: string): ProviderError {
  return new ProviderError({ kind: 'invalid_request', retryable: false, message, providerCode: 'unsupported_content' });
}

const DEFAULT_MIME: Record<string, string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/ogg; codecs=opus',
  document: 'application/octet-stream',
};

const EXT_MIME: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp',
  mp4: 'video/mp4', '3gp': 'video/3gpp', mov: 'video/quicktime',
  ogg: 'audio/ogg; codecs=opus', opus: 'audio/ogg; codecs=opus', oga: 'audio/ogg; codecs=opus', mp3: 'audio/mpeg', m4a: 'audio/mp4', aac: 'audio/aac',
  pdf: 'application/pdf', txt: 'text/plain', csv: 'text/csv', doc: 'application/msword', xls: 'application/vnd.ms-excel',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  zip: 'application/zip',
};

/** WAHA requires `file.mimetype`; take the caller's, else guess from the URL, else the type's default. */
function mimeFor(kind: string, media: MediaRef & { url: string }, filename?: string): string {
  if (media.mimeType) return media.mimeType;
  let path = filename ?? '';
  try {
    path ||= new URL(media.url).pathname;
  } catch {
    /* not a URL: the default below applies */
  }
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(path)?.[1]?.toLowerCase();
  const guess = ext ? EXT_MIME[ext] : undefined;
  return guess && (kind === 'document' || guess.startsWith(`${kind === 'audio' ? 'audio' : kind}/`)) ? guess : DEFAULT_MIME[kind]!;
}

function urlFilename(url: string): string | undefined {
  try {
    const last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
    return /^[^\\/]{1,128}\.[A-Za-z0-9]{1,5}$/.test(last) ? last : undefined;
  } catch {
    return undefined;
  }
}

function chatIdFor(to: string): string {
  try {
    return toChatId(to);
  } catch {
    throw new ProviderError({ kind: 'invalid_request', retryable: false, message: `not a WhatsApp address: ${to.slice(0, 64)}`, providerCode: 'invalid_chat_id' });
  }
}

export function buildSend(session: string, req: SendRequest): WahaCall & { chatId: string } {
  const chatId = chatIdFor(req.to);
  const c: OutboundContent = req.content;
  const reply = req.replyTo ? { reply_to: req.replyTo } : {};
  const post = (path: string, body: Record<string, unknown>): WahaCall & { chatId: string } => ({ method: 'POST', path, body, chatId });
  switch (c.type) {
    case 'text':
      return post('/api/sendText', { session, chatId, text: c.text, ...reply, ...(c.previewUrl !== undefined ? { linkPreview: c.previewUrl } : {}) });
    case 'image':
    case 'video':
    case 'audio':
    case 'document': {
      if (!('url' in c.media)) throw refuse('WAHA has no media store: send media by link (url), not by id');
      const mimetype = mimeFor(c.type, c.media, c.filename);
      const file = { mimetype, url: c.media.url, ...(c.filename ? { filename: c.filename } : {}) };
      const caption = c.caption !== undefined ? { caption: c.caption } : {};
      if (c.type === 'image') return post('/api/sendImage', { session, chatId, file, ...caption, ...reply });
      if (c.type === 'document') return post('/api/sendFile', { session, chatId, file, ...caption, ...reply });
      if (c.type === 'video') {
        // WhatsApp plays H.264 MP4; anything else is converted by WAHA's ffmpeg.
        // WAHA requires a video filename: the caller's, else the URL's last segment, else a default.
        const videoFile = { ...file, filename: c.filename ?? urlFilename(c.media.url) ?? 'video.mp4' };
        return post('/api/sendVideo', { session, chatId, file: videoFile, ...caption, convert: !mimetype.startsWith('video/mp4'), ...reply });
      }
      // Voice notes must be Ogg/Opus; other audio is converted. WhatsApp voice notes carry no caption.
      const voice = { mimetype, url: c.media.url };
      return post('/api/sendVoice', { session, chatId, file: voice, convert: !/^audio\/ogg/.test(mimetype), ...reply });
    }
    case 'sticker':
      throw refuse('WAHA cannot send stickers (no sticker endpoint)');
    case 'location':
      // `title` is required by WAHA; the place name reads best, the address is the fallback.
      return post('/api/sendLocation', { session, chatId, latitude: c.latitude, longitude: c.longitude, title: c.name ?? c.address ?? '', ...reply });
    case 'contacts':
      if (c.contacts.length === 0) throw refuse('contacts message without contacts');
      return post('/api/sendContactVcard', { session, chatId, contacts: c.contacts.map((card) => ({ vcard: buildVcard(card) })), ...reply });
    case 'reaction':
      return { method: 'PUT', path: '/api/reaction', body: { session, messageId: c.messageId, reaction: c.emoji }, chatId };
    case 'interactive': {
      const i = c.interactive;
      if (i.kind !== 'list') throw refuse('WAHA reply buttons are deprecated (POST /api/sendButtons); send a list instead');
      const message = {
        title: i.header ?? '',
        description: i.body,
        ...(i.footer !== undefined ? { footer: i.footer } : {}),
        button: i.buttonText,
        sections: i.sections.map((s) => ({
          title: s.title ?? '',
          rows: s.rows.map((r) => ({ title: r.title, rowId: r.id, ...(r.description !== undefined ? { description: r.description } : {}) })),
        })),
      };
      return post('/api/sendList', { session, chatId, message, ...reply });
    }
    case 'template':
      throw refuse('templates are a WhatsApp Cloud API feature; WAHA sessions send free-form messages');
    default: {
      const never: never = c;
      throw refuse(`unknown content type ${(never as { type?: string }).type ?? ''}`);
    }
  }
}
