/**
 * The sandbox's wire format, shared by its server, its adapter and its webhook parser. Documented
 * for humans in docs/providers/sandbox.md. All bodies are JSON; errors are
 * `{"error":{"code":"…","message":"…","field"?:"…"}}`.
 */
import type { DeliveryStatus, OutboundContent, ProviderErrorInfo } from '../../core/canonical.js';

export const API_PREFIX = '/v1/lines';
export const SIGNATURE_HEADER = 'x-sandbox-signature';
export const EVENT_ID_HEADER = 'x-sandbox-event-id';

/** Test numbers with special behaviour (all in the fictional +1 555 000 range). */
export const TEST_NUMBERS = {
  /** Accepted, `sent`, then `failed` with code `recipient_unavailable`. */
  undeliverable: '+15550000000',
  /** Goes to `read` and the contact answers "Echo: …" — a bot to talk to. */
  echo: '+15550000001',
  /** The send itself is refused with HTTP 429 and `Retry-After: 1`. */
  rateLimited: '+15550000429',
} as const;

export interface SendBody {
  to: string;
  content: OutboundContent;
  replyTo?: string;
  /** Idempotency handle: a repeated clientRef returns the first message instead of sending twice. */
  clientRef?: string;
}

export interface SendAnswer {
  id: string;
  status: 'accepted';
  /** True when this clientRef was seen before and nothing new was sent. */
  duplicate: boolean;
}

export interface ReplyBody {
  text: string;
  profileName?: string;
  /** Sandbox id of the message the contact answers. */
  replyTo?: string;
}

export type WireInboundContent =
  | { type: 'text'; text: string }
  | { type: 'image' | 'video' | 'audio' | 'voice' | 'document' | 'sticker'; media: { url: string; mimeType?: string; filename?: string }; caption?: string }
  | { type: 'location'; latitude: number; longitude: number; name?: string; address?: string }
  | { type: 'reaction'; messageId: string; emoji: string };

export type WireEvent =
  | {
      id: string;
      type: 'message';
      timestamp: string;
      message: { id: string; from: string; to: string; profileName?: string; replyTo?: string; content: WireInboundContent };
    }
  | {
      id: string;
      type: 'status';
      timestamp: string;
      status: { messageId: string; clientRef?: string; recipient: string; status: DeliveryStatus; error?: ProviderErrorInfo };
    };

/** One webhook POST: always a batch, usually of one event. */
export interface WireWebhook {
  lineId: string;
  events: WireEvent[];
}
