import type { ContactCard, OutboundContent } from '../../core/canonical.js';
import { LIMITS } from './limits.js';

/**
 * Canonical content → the exact JSON Meta expects on `POST /{phone-number-id}/messages`
 * (shapes copied from Meta's OpenAPI examples, `fixtures/whatsapp-cloud/send_*_request.json`).
 */

/** Recipient part of a send body: `to` (phone digits or group id) or `recipient` (BSUID). */
export type RecipientFields =
  | { recipient_type: 'individual'; to: string }
  | { recipient_type: 'individual'; recipient: string }
  | { recipient_type: 'group'; to: string };

export function buildMessageBody(
  recipient: RecipientFields,
  content: OutboundContent,
  opts: { replyTo?: string; clientRef?: string } = {},
): Record<string, unknown> {
  const body: Record<string, unknown> = { messaging_product: 'whatsapp', ...recipient, type: content.type };
  body[content.type] = typeObject(content);
  // A reaction points at its message itself; Meta rejects a reply context on it.
  if (opts.replyTo && content.type !== 'reaction') body.context = { message_id: opts.replyTo };
  // Echoed back in status webhooks; lets a retried job be matched to its message (≤ 512 bytes).
  if (opts.clientRef && Buffer.byteLength(opts.clientRef) <= LIMITS.bizOpaqueCallbackData) {
    body.biz_opaque_callback_data = opts.clientRef;
  }
  return body;
}

function typeObject(c: OutboundContent): unknown {
  switch (c.type) {
    case 'text':
      return { body: c.text, preview_url: c.previewUrl ?? false };
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const o: Record<string, unknown> = 'id' in c.media ? { id: c.media.id } : { link: c.media.url };
      if (c.caption !== undefined) o.caption = c.caption;
      // Only documents have a file name on WhatsApp; other kinds would be rejected for it.
      if (c.filename !== undefined && c.type === 'document') o.filename = c.filename;
      return o;
    }
    case 'location':
      return stripUndefined({
        latitude: c.latitude,
        longitude: c.longitude,
        name: c.name,
        address: c.address,
      });
    case 'contacts':
      return c.contacts.map(contactObject);
    case 'reaction':
      return { message_id: c.messageId, emoji: c.emoji };
    case 'template':
      return stripUndefined({ name: c.name, language: { code: c.language }, components: c.components });
    case 'interactive': {
      const it = c.interactive;
      const o: Record<string, unknown> = { type: it.kind === 'buttons' ? 'button' : 'list' };
      if (it.header !== undefined) o.header = { type: 'text', text: it.header };
      o.body = { text: it.body };
      if (it.footer !== undefined) o.footer = { text: it.footer };
      o.action =
        it.kind === 'buttons'
          ? { buttons: it.buttons.map((b) => ({ type: 'reply', reply: { id: b.id, title: b.title } })) }
          : {
              button: it.buttonText,
              sections: it.sections.map((s) =>
                stripUndefined({
                  title: s.title,
                  rows: s.rows.map((r) =>
                    stripUndefined({ id: r.id, title: r.title, description: r.description }),
                  ),
                }),
              ),
            };
      return o;
    }
  }
}

function contactObject(c: ContactCard): Record<string, unknown> {
  return stripUndefined({
    name: stripUndefined({
      formatted_name: c.name.formatted,
      first_name: c.name.first,
      last_name: c.name.last,
    }),
    phones: c.phones?.map((p) => stripUndefined({ phone: p.phone, type: p.type, wa_id: p.waId })),
    emails: c.emails?.map((e) => stripUndefined({ email: e.email, type: e.type })),
    org: c.org ? stripUndefined({ company: c.org.company, title: c.org.title }) : undefined,
  });
}

/** Mark-as-read, optionally showing the typing indicator (same endpoint as sends). */
export function buildMarkReadBody(messageId: string, typing = false): Record<string, unknown> {
  const body: Record<string, unknown> = {
    messaging_product: 'whatsapp',
    status: 'read',
    message_id: messageId,
  };
  if (typing) body.typing_indicator = { type: 'text' };
  return body;
}

function stripUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
