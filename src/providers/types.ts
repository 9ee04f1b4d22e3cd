import type { TSchema } from '@sinclair/typebox';
import type {
  InboundEvent,
  OutboundContent,
  OutboundContentType,
  SendRequest,
  SendResult,
  SessionStatus,
} from '../core/canonical.js';
import type { Clock, Logger } from '../core/runtime.js';
import type { HttpRequest } from '../core/http-transport.js';

export const PROVIDER_IDS = ['cloud-api', 'waha', 'ultramsg', 'sandbox'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** What a provider gets injected: no `process.env`, no globals, no vendor SDKs. */
export interface ProviderDeps {
  fetch: typeof fetch;
  /**
   * Preferred transport for provider calls (src/core/http-transport.ts); `fetch` is used when it is
   * absent and for multipart (FormData) bodies.
   */
  request?: HttpRequest;
  logger: Logger;
  clock: Clock;
  /** Per-request timeout for provider HTTP calls. */
  timeoutMs?: number;
}

/** A channel as an adapter sees it: decrypted credentials, never logged. */
export interface ChannelRef<C> {
  tenantId: string;
  channelId: string;
  credentials: C;
}

/** Dashboard metadata for one credential field (the dashboard renders forms from this). */
export interface CredentialField {
  name: string;
  label: string;
  /** Secret fields are encrypted at rest and masked in every response. */
  secret: boolean;
  required: boolean;
  help?: string;
  kind: 'text' | 'url' | 'password';
}

export interface ProviderSessionInfo {
  status: SessionStatus;
  /** The provider's own status word, for display. */
  providerStatus: string;
  me?: { id: string; name?: string } | null;
}

/** Session lifecycle for providers that pair a phone by QR (WAHA, UltraMsg). */
export interface SessionOps<C> {
  /** Creates (or updates) the provider session and points its webhooks at Switchboard. */
  create(ch: ChannelRef<C>, opts: { webhookUrl: string; start?: boolean }): Promise<ProviderSessionInfo>;
  start(ch: ChannelRef<C>): Promise<ProviderSessionInfo>;
  stop(ch: ChannelRef<C>): Promise<ProviderSessionInfo>;
  restart(ch: ChannelRef<C>): Promise<ProviderSessionInfo>;
  logout(ch: ChannelRef<C>): Promise<ProviderSessionInfo>;
  delete(ch: ChannelRef<C>): Promise<void>;
  /**
   * Takes Switchboard's webhook off the session and leaves the session (and the phone's pairing)
   * alone: the channel was deleted, the line may live on elsewhere.
   */
  unhook(ch: ChannelRef<C>, opts: { webhookUrl: string }): Promise<void>;
  get(ch: ChannelRef<C>): Promise<ProviderSessionInfo>;
  /** QR code to pair the phone: PNG bytes and/or the raw QR string. */
  qr(ch: ChannelRef<C>, format: 'png' | 'raw'): Promise<{ png?: Buffer; raw?: string }>;
  me(ch: ChannelRef<C>): Promise<{ id: string; name?: string } | null>;
}

export interface MediaOps<C> {
  upload(ch: ChannelRef<C>, file: { data: Buffer; mimeType: string; filename?: string }): Promise<{ id: string }>;
  download(ch: ChannelRef<C>, mediaId: string): Promise<{ data: Buffer; mimeType: string }>;
}

export interface ProviderTemplate {
  id: string;
  name: string;
  language: string;
  status: string;
  category?: string;
  components: unknown[];
}

export interface ProviderAdapter<C> {
  /**
   * A live call proving the credentials work (validate-on-save, periodic health). Throws
   * `ProviderError` with kind `unauthorized` / `unavailable` / `not_found`.
   */
  testConnection(ch: ChannelRef<C>): Promise<{ ok: true; detail?: string }>;
  /** Throws `ProviderError` (typed, retryable or not) on failure. */
  send(ch: ChannelRef<C>, req: SendRequest): Promise<SendResult>;
  markRead?(ch: ChannelRef<C>, p: { providerMessageId: string; chat: string }): Promise<void>;
  session?: SessionOps<C>;
  media?: MediaOps<C>;
  templates?: { list(ch: ChannelRef<C>): Promise<ProviderTemplate[]> };
}

/** A webhook request exactly as received: raw bytes for signature checks. */
export interface RawWebhook {
  /** Header names lower-cased. */
  headers: Record<string, string | undefined>;
  body: Buffer;
  query: Record<string, string | undefined>;
}

export type WebhookParseResult =
  | { ok: true; events: InboundEvent[] }
  | { ok: false; reason: 'malformed' | 'unsupported'; detail: string };

export interface WebhookHandler<C> {
  /**
   * Provider line ids the payload is about, read without any secret (Cloud API: every
   * `metadata.phone_number_id`). Empty for providers routed by URL token (WAHA, UltraMsg).
   */
  routingKeys(raw: RawWebhook): string[];
  /** Signature / token check with this channel's credentials, constant time over the raw body. */
  verify(raw: RawWebhook, credentials: C): boolean;
  /** Never throws: hostile input gives `{ ok: false }`. */
  parse(raw: RawWebhook): WebhookParseResult;
}

export interface ProviderCapabilities {
  content: readonly OutboundContentType[];
  markRead: boolean;
  sessions: boolean;
  mediaUpload: boolean;
  templates: boolean;
  /**
   * Where an inbound message's file lives: `held` — at the provider, fetched with the line's
   * credentials (`media.download` of its id or URL); `link` — at a URL anyone holding it can fetch.
   */
  inboundMedia: 'held' | 'link';
}

export interface ProviderDefinition<C = unknown> {
  id: ProviderId;
  displayName: string;
  credentials: {
    /** TypeBox schema the API validates credentials against. */
    schema: TSchema;
    fields: CredentialField[];
    /** The provider line id, unique per provider across tenants (webhook routing key). */
    externalId(credentials: C): string;
    /**
     * What this provider's webhook events call a line (`InboundEvent.externalId`), from its line id;
     * an event naming another line is never filed under the channel. Absent when events name no line.
     */
    eventLine?(externalId: string): string;
  };
  capabilities: ProviderCapabilities;
  /**
   * Finer checks than `capabilities.content`, run when a message is accepted so an unsendable one is
   * refused with a 422 naming the provider instead of failing later at delivery (e.g. WAHA sends
   * lists but not reply buttons). Returns problems as sentences; empty when sendable.
   */
  checkContent?(content: OutboundContent): string[];
  /** Why the provider cannot address this canonical recipient (refused at accept, 422), or undefined. */
  checkRecipient?(peer: string): string | undefined;
  /** Default per-line send rate (messages/s) and burst; jitter lowers ban risk on WhatsApp-Web lines. */
  rateDefaults: { perSecond: number; burst: number; jitterMs: number };
  createAdapter(deps: ProviderDeps): ProviderAdapter<C>;
  webhook: WebhookHandler<C>;
}
