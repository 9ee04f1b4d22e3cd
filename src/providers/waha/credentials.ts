import { Type, type Static } from '@sinclair/typebox';
import type { CredentialField } from '../types.js';

/**
 * WAHA channel credentials. One channel = one WAHA session on one WAHA server; several tenants may
 * share a server (different sessions) and one tenant may run several servers.
 */
export const wahaCredentialsSchema = Type.Object(
  {
    /** Root of the WAHA server, optionally behind a path prefix (`https://waha.example.com/wa`). */
    baseUrl: Type.String({ pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$', maxLength: 2048 }),
    apiKey: Type.String({ minLength: 1, maxLength: 512 }),
    /** WAHA session names are path segments; keep them to a conservative, URL-safe alphabet. */
    sessionName: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    /**
     * HMAC-SHA512 key WAHA signs webhooks with (`config.webhooks[].hmac.key`). At least 16 characters:
     * it is the only thing standing between the public webhook URL and forged inbound messages.
     */
    webhookHmacKey: Type.String({ minLength: 16, maxLength: 512 }),
  },
  { additionalProperties: false },
);

export type WahaCredentials = Static<typeof wahaCredentialsSchema>;

export const wahaCredentialFields: CredentialField[] = [
  {
    name: 'baseUrl',
    label: 'WAHA server URL',
    secret: false,
    required: true,
    kind: 'url',
    help: 'Where your WAHA server answers, e.g. https://waha.example.com (WAHA 2026.6.1+ or WAHA Plus for several sessions).',
  },
  {
    name: 'apiKey',
    label: 'API key',
    secret: true,
    required: true,
    kind: 'password',
    help: 'The plain value of WAHA_API_KEY (sent as the X-Api-Key header).',
  },
  {
    name: 'sessionName',
    label: 'Session name',
    secret: false,
    required: true,
    kind: 'text',
    help: 'The WAHA session for this line (letters, digits, "_" and "-"). Switchboard creates it if it does not exist.',
  },
  {
    name: 'webhookHmacKey',
    label: 'Webhook HMAC key',
    secret: true,
    required: true,
    kind: 'password',
    help: 'A random secret (16+ characters). Switchboard configures it on the session and checks X-Webhook-Hmac with it.',
  },
];

/** `https://WAHA.example.com/` → `https://waha.example.com` (no trailing slash, path prefix kept). */
export function normaliseBaseUrl(baseUrl: string): string {
  try {
    const u = new URL(baseUrl.trim());
    const path = u.pathname.replace(/\/+$/, '');
    return `${u.protocol}//${u.host}${path}`;
  } catch {
    return baseUrl.trim().replace(/\/+$/, '');
  }
}

/**
 * The line id, unique per provider across tenants: `session@host:port[/prefix]`. The session name
 * alone is not unique (every WAHA Core server has a `default`), and the port is written out even when
 * it is the scheme's default so `https://h` and `https://h:443` are the same line.
 */
export function wahaExternalId(c: Pick<WahaCredentials, 'baseUrl' | 'sessionName'>): string {
  try {
    const u = new URL(c.baseUrl.trim());
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    const path = u.pathname.replace(/\/+$/, '');
    return `${c.sessionName}@${u.hostname.toLowerCase()}:${port}${path}`;
  } catch {
    return `${c.sessionName}@${c.baseUrl.trim().toLowerCase()}`;
  }
}

/**
 * What WAHA webhook events carry as `externalId`: the envelope's `session`, the part of the line id
 * (`wahaExternalId`, `session@host:port…`) before the `@` — a webhook body never names the server it
 * came from. The ingress files only events of the channel's own session.
 */
export function wahaEventExternalId(externalId: string): string {
  const at = externalId.indexOf('@');
  return at < 0 ? externalId : externalId.slice(0, at);
}
