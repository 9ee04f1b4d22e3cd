import { Type, type Static } from '@sinclair/typebox';
import type { CredentialField } from '../types.js';

/**
 * UltraMsg channel credentials. An instance id is `instance<digits>` in the API path (the PHP SDK
 * builds `"instance" . $id`), while webhooks carry only the digits (`"instanceId":"1150"`), and
 * people paste either form — so both are accepted and normalised to `instance<digits>`.
 */
export const UltramsgCredentialsSchema = Type.Object(
  {
    instanceId: Type.String({ pattern: '^\\s*(?:[Ii]nstance)?\\d{1,12}\\s*$', description: 'instance12345 or 12345' }),
    token: Type.String({ minLength: 1, maxLength: 200 }),
    baseUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 500 })),
  },
  { additionalProperties: false },
);

export type UltramsgCredentials = Static<typeof UltramsgCredentialsSchema>;

export const DEFAULT_BASE_URL = 'https://api.ultramsg.com';

/** `instance1150`, `1150`, ` Instance1150 ` → `instance1150`; anything else → null. */
export function normalizeInstanceId(input: unknown): string | null {
  if (typeof input === 'number' && Number.isSafeInteger(input) && input >= 0) return `instance${input}`;
  if (typeof input !== 'string') return null;
  const m = /^\s*(?:instance)?(\d{1,12})\s*$/i.exec(input);
  return m ? `instance${m[1]}` : null;
}

/** The instance id as the routing key; the schema guarantees it normalises. */
export function ultramsgExternalId(c: UltramsgCredentials): string {
  const id = normalizeInstanceId(c.instanceId);
  if (!id) throw new Error('invalid UltraMsg instance id');
  return id;
}

/** API root for an instance, e.g. `https://api.ultramsg.com/instance1150`. */
export function instanceBaseUrl(c: UltramsgCredentials): string {
  const base = (c.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  return `${base}/${ultramsgExternalId(c)}`;
}

export const ultramsgCredentialFields: CredentialField[] = [
  {
    name: 'instanceId',
    label: 'Instance ID',
    secret: false,
    required: true,
    kind: 'text',
    help: 'Shown on your UltraMsg dashboard as "instance12345" (the digits alone work too).',
  },
  {
    name: 'token',
    label: 'Token',
    secret: true,
    required: true,
    kind: 'password',
    help: 'The instance token from the same UltraMsg dashboard page.',
  },
  {
    name: 'baseUrl',
    label: 'API base URL',
    secret: false,
    required: false,
    kind: 'url',
    help: `Leave empty for ${DEFAULT_BASE_URL}.`,
  },
];
