import type { ProviderDefinition } from '../types.js';
import { createSandboxAdapter } from './adapter.js';
import { SandboxCredentialsSchema, sandboxCredentialFields, sandboxExternalId, type SandboxCredentials } from './credentials.js';
import { sandboxWebhook } from './webhook.js';
import { checkSandboxContent } from './validate.js';

export type { SandboxCredentials } from './credentials.js';
export { newSandboxCredentials } from './credentials.js';
export { createSandboxAdapter, type SandboxAdapter } from './adapter.js';
export { createSandboxServer, linePhone, type SandboxServer, type SandboxServerOptions, type SandboxSchedule } from './server.js';
export { signSandboxBody } from './delivery.js';
export { TEST_NUMBERS as SANDBOX_TEST_NUMBERS } from './protocol.js';

export const sandboxProvider: ProviderDefinition<SandboxCredentials> = {
  id: 'sandbox',
  displayName: 'Sandbox (simulated line)',
  credentials: {
    schema: SandboxCredentialsSchema,
    fields: sandboxCredentialFields,
    externalId: sandboxExternalId,
  },
  capabilities: {
    content: ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contacts', 'reaction', 'template', 'interactive'],
    markRead: true,
    sessions: false,
    mediaUpload: false,
    templates: false,
    inboundMedia: 'link',
  },
  // Cloud-API-like numbers so the scheduler behaves as it would in production, just smaller.
  rateDefaults: { perSecond: 20, burst: 40, jitterMs: 0 },
  checkContent: checkSandboxContent,
  createAdapter: createSandboxAdapter,
  webhook: sandboxWebhook,
};
