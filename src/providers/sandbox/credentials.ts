import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { CredentialField } from '../types.js';

/**
 * Sandbox line credentials. The sandbox server runs inside Switchboard on a loopback port, so
 * `baseUrl` normally points there; `secret` authenticates adapter calls (bearer) and signs the
 * webhooks the sandbox posts (HMAC-SHA256), exactly like a real provider's token + app secret.
 */
export const SandboxCredentialsSchema = Type.Object(
  {
    baseUrl: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 500 }),
    lineId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$' }),
    secret: Type.String({ minLength: 16, maxLength: 200 }),
  },
  { additionalProperties: false },
);

export type SandboxCredentials = Static<typeof SandboxCredentialsSchema>;

export const sandboxExternalId = (c: SandboxCredentials): string => c.lineId;

/** Fresh credentials for a new sandbox line: `sandbox-<random>` and a 32-byte secret. */
export function newSandboxCredentials(baseUrl: string): SandboxCredentials {
  return {
    baseUrl,
    lineId: `sandbox-${randomBytes(6).toString('hex')}`,
    secret: randomBytes(32).toString('base64url'),
  };
}

export const sandboxCredentialFields: CredentialField[] = [
  {
    name: 'baseUrl',
    label: 'Sandbox URL',
    secret: false,
    required: true,
    kind: 'url',
    help: 'Filled in by Switchboard: the built-in sandbox server.',
  },
  {
    name: 'lineId',
    label: 'Line ID',
    secret: false,
    required: true,
    kind: 'text',
    help: 'Any id (letters, digits, - and _); generated as sandbox-<random> when you add a sandbox channel.',
  },
  {
    name: 'secret',
    label: 'Secret',
    secret: true,
    required: true,
    kind: 'password',
    help: 'At least 16 characters. Authenticates API calls and signs the sandbox webhooks.',
  },
];
