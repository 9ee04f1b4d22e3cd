import type { ProviderDefinition } from '../types.js';
import { createUltramsgAdapter } from './adapter.js';
import { UltramsgCredentialsSchema, ultramsgCredentialFields, ultramsgExternalId, type UltramsgCredentials } from './credentials.js';
import { ultramsgWebhook } from './webhook.js';
import { checkUltramsgContent, checkUltramsgRecipient } from './check.js';

export type { UltramsgCredentials } from './credentials.js';
export { normalizeInstanceId } from './credentials.js';
export { createUltramsgSimulator, type UltramsgSimulator, type UltramsgSimOptions } from './simulator.js';
export { createUltramsgWebhook } from './webhook.js';

export const ultramsgProvider: ProviderDefinition<UltramsgCredentials> = {
  id: 'ultramsg',
  displayName: 'UltraMsg',
  credentials: {
    schema: UltramsgCredentialsSchema,
    fields: ultramsgCredentialFields,
    externalId: ultramsgExternalId,
  },
  checkContent: checkUltramsgContent,
  checkRecipient: checkUltramsgRecipient,
  capabilities: {
    content: ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contacts', 'reaction'],
    markRead: true,
    sessions: true,
    mediaUpload: false,
    templates: false,
    // Inbound files are links on UltraMsg's file host, fetchable without the token.
    inboundMedia: 'link',
  },
  // A WhatsApp-Web line: UltraMsg publishes no limit, and bursts get numbers banned. One message
  // a second with up to 1.5 s of jitter keeps it human-paced; UltraMsg's own `sendDelay` adds to it.
  rateDefaults: { perSecond: 1, burst: 3, jitterMs: 1500 },
  createAdapter: createUltramsgAdapter,
  webhook: ultramsgWebhook,
};
