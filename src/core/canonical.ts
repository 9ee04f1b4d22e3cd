/**
 * The canonical message model every provider adapter speaks.
 *
 * Glossary
 * - tenant: an organisation using Switchboard; owns everything below. Id `ten_…`.
 * - channel: one WhatsApp line of a tenant on one provider. Id `chn_…`. Its provider-side id
 *   (`externalId`: Cloud API phone_number_id, WAHA session name, UltraMsg instance id) is unique per
 *   provider across all tenants and is how inbound webhooks are routed.
 * - address: who a message goes to or comes from, as one canonical string (see `src/core/address.ts`):
 *   `+16505551234` (phone), `120363…@g.us` (group), `1234…@lid` (hidden id), `bsuid:US.123…`
 *   (Meta business-scoped user id, users without a phone number).
 * - provider message id: the id the provider gives a message (`wamid.…`, WAHA `true_…_…`,
 *   UltraMsg queue id). Statuses and reactions refer to it.
 * - event: something the provider told us (inbound message, status, session change), canonicalised.
 */

export const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

/** A media reference: a public link, or a media id the provider already holds (Cloud API upload). */
export type MediaRef = { url: string; mimeType?: string } | { id: string; mimeType?: string };

export interface ContactCard {
  name: { formatted: string; first?: string; last?: string };
  phones?: { phone: string; type?: string; waId?: string }[];
  emails?: { email: string; type?: string }[];
  org?: { company?: string; title?: string };
}

export interface ReplyButton {
  id: string;
  title: string;
}
export interface ListSection {
  title?: string;
  rows: { id: string; title: string; description?: string }[];
}

export type OutboundContent =
  | { type: 'text'; text: string; previewUrl?: boolean }
  | { type: MediaType; media: MediaRef; caption?: string; filename?: string }
  | { type: 'location'; latitude: number; longitude: number; name?: string; address?: string }
  | { type: 'contacts'; contacts: ContactCard[] }
  /** `emoji: ''` removes the reaction. `messageId` is the provider id of the message reacted to. */
  | { type: 'reaction'; messageId: string; emoji: string }
  /** Cloud API only. `components` are passed through in Meta's (lower-case) shape. */
  | { type: 'template'; name: string; language: string; components?: unknown[] }
  | {
      type: 'interactive';
      interactive:
        | { kind: 'buttons'; body: string; header?: string; footer?: string; buttons: ReplyButton[] }
        | {
            kind: 'list';
            body: string;
            header?: string;
            footer?: string;
            buttonText: string;
            sections: ListSection[];
          };
    };

export type OutboundContentType = OutboundContent['type'];

export interface SendRequest {
  /** Canonical address string. */
  to: string;
  content: OutboundContent;
  /** Provider message id being replied to. */
  replyTo?: string;
  /**
   * Our message id (`msg_…`). Adapters pass it where the provider accepts a client handle
   * (UltraMsg `referenceId`, Cloud API `biz_opaque_callback_data`) so retries can be matched.
   */
  clientRef: string;
}

export interface SendResult {
  providerMessageId: string;
}

// ---------------------------------------------------------------- inbound

export type InboundContent =
  | { type: 'text'; text: string }
  | {
      type: MediaType | 'voice';
      media: { id?: string; url?: string; mimeType?: string; sha256?: string; filename?: string };
      caption?: string;
    }
  | { type: 'location'; latitude: number; longitude: number; name?: string; address?: string }
  | { type: 'contacts'; contacts: ContactCard[] }
  | { type: 'reaction'; messageId: string; emoji: string }
  /** A tap on an interactive reply button or list row. */
  | { type: 'interactive_reply'; kind: 'button' | 'list'; id: string; title: string; description?: string }
  /** A tap on a template quick-reply button. */
  | { type: 'button'; payload: string; text: string }
  | { type: 'system'; text: string; systemType?: string }
  | { type: 'order'; order: unknown }
  /** Anything the provider marks unsupported/unknown, or a type we do not model. Never dropped. */
  | {
      type: 'unsupported';
      providerType: string;
      errors?: ProviderErrorInfo[];
      /** The provider's own object for the type, when it sent one (a WhatsApp Flow's answers, a type added later): kept, not lost. */
      raw?: unknown;
    };

export interface ProviderErrorInfo {
  code: string;
  title: string;
  detail?: string;
}

export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'played' | 'failed';

/** WAHA/UltraMsg session states, normalised. */
export type SessionStatus = 'stopped' | 'starting' | 'scan_qr' | 'working' | 'failed';

interface EventBase {
  /**
   * The provider line the event belongs to (Cloud API phone_number_id, WAHA session, UltraMsg
   * instance id): the routing key. Ingress checks it against the channel the webhook was routed to.
   */
  externalId: string;
  /** Stable key for dedupe within a channel: a redelivered event has the same key. */
  dedupeKey: string;
  timestamp: Date;
}

export type InboundEvent =
  | (EventBase & {
      kind: 'message.received';
      providerMessageId: string;
      /** The conversation peer: the sender for 1:1 chats, the group for group chats. */
      chat: string;
      /** Who wrote it (equals `chat` outside groups). */
      from: string;
      /** True when the provider reports a message sent from the line itself (WAHA message.any). */
      fromMe: boolean;
      profileName?: string;
      replyTo?: string;
      content: InboundContent;
    })
  | (EventBase & {
      kind: 'message.status';
      providerMessageId: string;
      status: DeliveryStatus;
      recipient?: string;
      error?: ProviderErrorInfo;
    })
  | (EventBase & { kind: 'message.revoked'; providerMessageId: string; chat?: string })
  | (EventBase & { kind: 'message.edited'; providerMessageId: string; chat?: string; text: string })
  | (EventBase & { kind: 'session.status'; status: SessionStatus })
  /** Line-level errors the provider reports without a message (Cloud API `value.errors`). */
  | (EventBase & { kind: 'provider.error'; error: ProviderErrorInfo });

export type InboundEventKind = InboundEvent['kind'];
