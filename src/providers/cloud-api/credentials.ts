import { Type, type Static } from '@sinclair/typebox';
import type { CredentialField } from '../types.js';

export const DEFAULT_GRAPH_BASE_URL = 'https://graph.facebook.com';
export const DEFAULT_API_VERSION = 'v23.0';

/**
 * What a Cloud API channel needs. One Meta App serves many lines, but each line is addressed by its
 * own phone_number_id, which is also the webhook routing key (`metadata.phone_number_id`).
 */
export const CloudApiCredentialsSchema = Type.Object(
  {
    phoneNumberId: Type.String({ pattern: '^[0-9]{5,32}$' }),
    wabaId: Type.String({ pattern: '^[0-9]{5,32}$' }),
    accessToken: Type.String({ minLength: 10, maxLength: 4096 }),
    appSecret: Type.String({ minLength: 8, maxLength: 256 }),
    verifyToken: Type.String({ minLength: 1, maxLength: 256 }),
    graphBaseUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 })),
    apiVersion: Type.Optional(Type.String({ pattern: '^v[0-9]+\\.[0-9]+$' })),
  },
  { additionalProperties: false },
);

export type CloudApiCredentials = Static<typeof CloudApiCredentialsSchema>;

export const cloudApiCredentialFields: CredentialField[] = [
  {
    name: 'phoneNumberId',
    label: 'Phone number ID',
    secret: false,
    required: true,
    kind: 'text',
    help: 'WhatsApp Manager > Phone numbers, or App Dashboard > WhatsApp > API Setup ("Phone number ID"). Not the phone number itself.',
  },
  {
    name: 'wabaId',
    label: 'WhatsApp Business Account ID',
    secret: false,
    required: true,
    kind: 'text',
    help: 'App Dashboard > WhatsApp > API Setup ("WhatsApp Business Account ID"). Used to sync message templates.',
  },
  {
    name: 'accessToken',
    label: 'Access token',
    secret: true,
    required: true,
    kind: 'password',
    help: 'A permanent System User token (Business Settings > System users) with whatsapp_business_messaging and whatsapp_business_management.',
  },
  {
    name: 'appSecret',
    label: 'App secret',
    secret: true,
    required: true,
    kind: 'password',
    help: 'App Dashboard > App settings > Basic > App secret. Verifies the X-Hub-Signature-256 of every webhook.',
  },
  {
    name: 'verifyToken',
    label: 'Webhook verify token',
    secret: true,
    required: true,
    kind: 'password',
    help: 'Any string you choose; enter the same value as "Verify token" in App Dashboard > WhatsApp > Configuration.',
  },
  {
    name: 'graphBaseUrl',
    label: 'Graph API base URL',
    secret: false,
    required: false,
    kind: 'url',
    help: `Defaults to ${DEFAULT_GRAPH_BASE_URL}. Change only for a proxy or a simulator.`,
  },
  {
    name: 'apiVersion',
    label: 'Graph API version',
    secret: false,
    required: false,
    kind: 'text',
    help: `Defaults to ${DEFAULT_API_VERSION}.`,
  },
];

/** The line id: unique per Meta phone number, and what every webhook carries in metadata. */
export function cloudApiExternalId(c: CloudApiCredentials): string {
  return c.phoneNumberId;
}

/** `https://graph.facebook.com/v23.0` for a channel, without a trailing slash. */
export function graphBase(c: CloudApiCredentials): string {
  const base = (c.graphBaseUrl ?? DEFAULT_GRAPH_BASE_URL).replace(/\/+$/, '');
  return `${base}/${c.apiVersion ?? DEFAULT_API_VERSION}`;
}
