import type { SessionStatus } from '../../core/canonical.js';
import { normalizeAddress } from '../../core/address.js';
import { ProviderError } from '../../core/errors.js';
import { isRecord, lookup, str } from '../http.js';
import type { ProviderSessionInfo, SessionOps } from '../types.js';
import type { UltramsgClient } from './adapter.js';
import type { UltramsgCredentials } from './credentials.js';
import { expectOk, ultramsgErrorFrom } from './errors.js';

/**
 * UltraMsg instances are hosted and always "running"; what changes is whether a phone is paired.
 * So the SessionOps map as follows (documented in docs/providers/ultramsg.md):
 *   create  → POST instance/settings (webhook URL + all webhook_message_* flags), then optionally start
 *   start   → nothing if the instance is already up/pairing, else POST instance/restart
 *   stop    → POST instance/logout (the only way to stop a hosted line; the phone must re-scan)
 *   delete  → logout + clear the webhook settings (the paid instance itself is not deleted)
 */

const STATUS_MAP: Record<string, SessionStatus> = {
  authenticated: 'working',
  qr: 'scan_qr',
  'got qr code': 'scan_qr',
  standby: 'starting',
  loading: 'starting',
  initialize: 'starting',
  connecting: 'starting',
  retrying: 'starting',
  disconnected: 'stopped',
  stopped: 'stopped',
  logout: 'stopped',
};

/** `{"status":{"accountStatus":{"status":"authenticated","substatus":"connected"}}}` → session info. */
export function mapInstanceStatus(body: unknown): ProviderSessionInfo {
  const account = isRecord(body) && isRecord(body.status) && isRecord(body.status.accountStatus) ? body.status.accountStatus : undefined;
  const word = str(account?.status)?.trim().toLowerCase();
  if (!word) {
    throw new ProviderError({ kind: 'unknown', retryable: true, message: 'UltraMsg: instance/status answer has no accountStatus' });
  }
  const sub = str(account?.substatus);
  return { status: lookup(STATUS_MAP, word) ?? 'failed', providerStatus: sub ? `${word}/${sub}` : word };
}

/**
 * `instance/me` is not documented verbatim (CONTRACTS §3.3 UNCERTAIN); whatsapp-web.js style
 * answers carry `id` (`<digits>@c.us`) and `name`/`pushname`. Returns null when no id is found.
 */
export function parseMe(body: unknown): { id: string; name?: string } | null {
  if (!isRecord(body)) return null;
  const rawId = str(body.id) ?? (isRecord(body.id) ? str(body.id._serialized) : undefined) ?? str(body.wid);
  if (!rawId) return null;
  const id = normalizeAddress(rawId) ?? rawId;
  const name = str(body.name) ?? str(body.pushname);
  return name ? { id, name } : { id };
}

const WEBHOOK_FLAGS = ['webhook_message_received', 'webhook_message_create', 'webhook_message_ack', 'webhook_message_download_media'];

export function createUltramsgSessionOps(client: UltramsgClient): SessionOps<UltramsgCredentials> {
  const ops: SessionOps<UltramsgCredentials> = {
    async get(ch) {
      const info = mapInstanceStatus(expectOk(await client.get(ch, 'instance/status'), client.now()));
      if (info.status !== 'working') return { ...info, me: null };
      return { ...info, me: await ops.me(ch).catch(() => null) };
    },

    async create(ch, opts) {
      const fields: Record<string, string> = { webhook_url: opts.webhookUrl };
      for (const f of WEBHOOK_FLAGS) fields[f] = 'true';
      expectOk(await client.post(ch, 'instance/settings', fields), client.now());
      return opts.start === false ? ops.get(ch) : ops.start(ch);
    },

    async start(ch) {
      const current = await ops.get(ch);
      if (current.status !== 'stopped' && current.status !== 'failed') return current;
      return ops.restart(ch);
    },

    async stop(ch) {
      return ops.logout(ch);
    },

    async restart(ch) {
      expectOk(await client.post(ch, 'instance/restart', {}), client.now());
      return ops.get(ch);
    },

    async logout(ch) {
      expectOk(await client.post(ch, 'instance/logout', {}), client.now());
      return ops.get(ch);
    },

    async delete(ch) {
      try {
        expectOk(await client.post(ch, 'instance/logout', {}), client.now());
      } catch (err) {
        // Logging out a line that is not paired is not a reason to keep our webhook on it.
        if (!(err instanceof ProviderError) || err.kind !== 'session_not_ready') throw err;
      }
      await ops.unhook(ch, { webhookUrl: '' });
    },
    /** The instance has one webhook URL: cleared (and its events off) only while it is still ours. */
    async unhook(ch, opts) {
      if (opts.webhookUrl) {
        const current = expectOk(await client.get(ch, 'instance/settings'), client.now());
        if (isRecord(current) && typeof current.webhook_url === 'string' && current.webhook_url !== opts.webhookUrl) return;
      }
      const fields: Record<string, string> = { webhook_url: '' };
      for (const f of WEBHOOK_FLAGS) fields[f] = 'false';
      expectOk(await client.post(ch, 'instance/settings', fields), client.now());
    },

    async qr(ch, format) {
      if (format === 'png') {
        const res = await client.get(ch, 'instance/qr');
        const err = ultramsgErrorFrom(res, client.now());
        if (err) throw err;
        if (!(res.headers.get('content-type') ?? '').startsWith('image/')) {
          throw new ProviderError({ kind: 'session_not_ready', retryable: true, message: 'UltraMsg: no QR code to scan right now', httpStatus: res.status });
        }
        return { png: res.bytes };
      }
      const res = await client.get(ch, 'instance/qrCode');
      const body = expectOk(res, client.now());
      // Raw shape is UNCERTAIN (CONTRACTS §3.2): accept `{"qrCode":"…"}`, `{"qr":"…"}` or plain text.
      const raw = isRecord(body) ? (str(body.qrCode) ?? str(body.qr)) : typeof body === 'string' ? body : res.json === undefined ? res.text.trim() : undefined;
      if (!raw) throw new ProviderError({ kind: 'session_not_ready', retryable: true, message: 'UltraMsg: no QR code to scan right now' });
      return { raw };
    },

    async me(ch) {
      return parseMe(expectOk(await client.get(ch, 'instance/me'), client.now()));
    },
  };
  return ops;
}
