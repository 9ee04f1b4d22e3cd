import { toCloudRecipient } from './addressing.js';
import type { ProviderDefinition } from '../types.js';
import { createCloudApiAdapter } from './adapter.js';
import {
  CloudApiCredentialsSchema,
  cloudApiCredentialFields,
  cloudApiExternalId,
  type CloudApiCredentials,
} from './credentials.js';
import { cloudApiWebhook } from './webhook.js';

/** Meta WhatsApp Cloud API (Graph): templates, interactive messages, media upload; no QR sessions. */
export const cloudApiProvider: ProviderDefinition<CloudApiCredentials> = {
  id: 'cloud-api',
  displayName: 'WhatsApp Cloud API (Meta)',
  credentials: {
    schema: CloudApiCredentialsSchema,
    fields: cloudApiCredentialFields,
    externalId: cloudApiExternalId,
    // Routed by `metadata.phone_number_id`, which is the line id itself.
    eventLine: (externalId) => externalId,
  },
  checkRecipient: (peer) => (toCloudRecipient(peer) ? undefined : `the Cloud API reaches phone numbers, bsuid: ids and groups, not ${peer}`),
  capabilities: {
    content: [
      'text',
      'image',
      'video',
      'audio',
      'document',
      'sticker',
      'location',
      'contacts',
      'reaction',
      'template',
      'interactive',
    ],
    markRead: true,
    sessions: false,
    mediaUpload: true,
    templates: true,
    // Inbound files are media ids: a short-lived URL that still needs the access token.
    inboundMedia: 'held',
  },
  // Meta's default throughput is 80 messages/s per number (up to 1,000 after automatic upgrade);
  // an official API, so no jitter is needed to look human.
  rateDefaults: { perSecond: 80, burst: 80, jitterMs: 0 },
  createAdapter: createCloudApiAdapter,
  webhook: cloudApiWebhook,
};

export type { CloudApiCredentials } from './credentials.js';
export { CloudApiCredentialsSchema, DEFAULT_API_VERSION, DEFAULT_GRAPH_BASE_URL } from './credentials.js';
export { createCloudApiAdapter, type CloudApiAdapter } from './adapter.js';
export { validateContent } from './validate.js';
export { verifyChallenge, verifySignature } from './webhook.js';
export { classifyCloudApiCode, cloudApiError } from './errors.js';
export {
  createCloudApiSimulator,
  CloudApiSimulator,
  type CloudApiSimOptions,
  type SimInbound,
} from './simulator.js';
