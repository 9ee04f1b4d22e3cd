import type { ProviderDefinition } from '../types.js';
import { checkWebRecipient } from '../whatsapp-web.js';
import { createWahaAdapter } from './adapter.js';
import { wahaCredentialFields, wahaCredentialsSchema, wahaEventExternalId, wahaExternalId, type WahaCredentials } from './credentials.js';
import { WAHA_CONTENT } from './outbound.js';
import { wahaWebhook } from './webhook.js';
import { checkWahaContent } from './check.js';

export const wahaProvider: ProviderDefinition<WahaCredentials> = {
  id: 'waha',
  displayName: 'WAHA (self-hosted WhatsApp HTTP API)',
  credentials: {
    schema: wahaCredentialsSchema,
    fields: wahaCredentialFields,
    externalId: wahaExternalId,
    eventLine: wahaEventExternalId,
  },
  checkContent: checkWahaContent,
  checkRecipient: checkWebRecipient,
  capabilities: {
    content: WAHA_CONTENT,
    markRead: true,
    sessions: true,
    // WAHA keeps no media library: media is sent by URL (or inline base64), never by id.
    mediaUpload: false,
    templates: false,
    // Inbound files are on the WAHA server, behind its API key (/api/files/...).
    inboundMedia: 'held',
  },
  // A WhatsApp-Web line, not the Cloud API: bursts look like spam to WhatsApp and get numbers banned.
  // About one message a second, small bursts, and up to a second of jitter between sends.
  rateDefaults: { perSecond: 1, burst: 3, jitterMs: 1000 },
  createAdapter: createWahaAdapter,
  webhook: wahaWebhook,
};

export { createWahaSimulator, WahaSimulator, type WahaSimulatorOptions, type InboundSpec, type WahaEngine } from './simulator.js';
export { createWahaAdapter, type WahaAdapter } from './adapter.js';
export { wahaEventExternalId, wahaExternalId, type WahaCredentials } from './credentials.js';
export type { WahaReads, WahaChat, WahaContact, WahaGroup } from './reads.js';
