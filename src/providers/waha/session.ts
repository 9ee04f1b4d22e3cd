import type { SessionStatus } from '../../core/canonical.js';
import { ProviderError } from '../../core/errors.js';
import { isRecord, lookup, str } from '../http.js';
import type { ChannelRef, ProviderDeps, ProviderSessionInfo, SessionOps } from '../types.js';
import { seg, wahaCall } from './client.js';
import type { WahaCredentials } from './credentials.js';
import { wahaError } from './errors.js';
import { canonicalAddress } from './ids.js';

/** The events Switchboard subscribes a session to (see docs/providers/waha.md for why these). */
// `message.ack` covers contacts only: group delivery and read receipts come as `message.ack.group`.
export const WAHA_WEBHOOK_EVENTS = ['message', 'message.ack', 'message.ack.group', 'message.revoked', 'message.edited', 'message.reaction', 'session.status'] as const;

/**
 * WAHA retries a webhook that does not get a 2xx. Exponential from 2 s over 12 attempts ≈ 2.3 h of
 * cover for an ingress outage before WAHA gives up on an event.
 */
const WEBHOOK_RETRIES = { policy: 'exponential', delaySeconds: 2, attempts: 12 } as const;

const STATUS: Record<string, SessionStatus> = {
  STOPPED: 'stopped',
  STARTING: 'starting',
  SCAN_QR_CODE: 'scan_qr',
  // GOWS passkey pairing (2026): like a QR scan, the user must act on the phone.
  PASSKEY_REQUIRED: 'scan_qr',
  PASSKEY_CONFIRMATION_REQUIRED: 'scan_qr',
  WORKING: 'working',
  FAILED: 'failed',
};

/** Unknown future statuses read as `starting`: transitional, and `providerStatus` keeps the word. */
export function mapSessionStatus(s: string): SessionStatus {
  return lookup(STATUS, s) ?? 'starting';
}

function meOf(v: unknown): { id: string; name?: string } | null {
  if (!isRecord(v) || typeof v.id !== 'string' || !v.id) return null;
  const name = str(v.pushName);
  return { id: canonicalAddress(v.id) ?? v.id, ...(name ? { name } : {}) };
}

/** SessionDTO (start/stop/… answers, no `me`) or SessionInfo (GET, with `me`) → canonical. */
export function sessionInfo(json: unknown): ProviderSessionInfo {
  const body = isRecord(json) ? json : {};
  const providerStatus = str(body.status) ?? 'UNKNOWN';
  const info: ProviderSessionInfo = { status: mapSessionStatus(providerStatus), providerStatus };
  if ('me' in body) info.me = meOf(body.me);
  return info;
}

function webhookConfig(ch: ChannelRef<WahaCredentials>, url: string): Record<string, unknown> {
  return { url, events: [...WAHA_WEBHOOK_EVENTS], hmac: { key: ch.credentials.webhookHmacKey }, retries: { ...WEBHOOK_RETRIES } };
}

/** True for a webhook entry that Switchboard put there earlier (same ingress, maybe an old token). */
function isOurs(entry: unknown, url: string): boolean {
  if (!isRecord(entry) || typeof entry.url !== 'string') return false;
  if (entry.url === url) return true;
  try {
    const a = new URL(entry.url);
    const b = new URL(url);
    return a.origin === b.origin && a.pathname.startsWith('/webhooks/waha/') && b.pathname.startsWith('/webhooks/waha/');
  } catch {
    return false;
  }
}

export function createSessionOps(deps: ProviderDeps): SessionOps<WahaCredentials> {
  const base = (ch: ChannelRef<WahaCredentials>): string => `/api/sessions/${seg(ch.credentials.sessionName)}`;
  const action = async (ch: ChannelRef<WahaCredentials>, op: 'start' | 'stop' | 'restart' | 'logout'): Promise<ProviderSessionInfo> =>
    sessionInfo((await wahaCall(deps, ch, { method: 'POST', path: `${base(ch)}/${op}` })).json);

  const ops: SessionOps<WahaCredentials> = {
    async create(ch, opts) {
      const start = opts.start ?? true;
      const ours = webhookConfig(ch, opts.webhookUrl);
      const res = await wahaCall(deps, ch, {
        method: 'POST',
        path: '/api/sessions',
        body: { name: ch.credentials.sessionName, start, config: { webhooks: [ours] } },
        allow: [422],
      });
      if (res.status !== 422) return sessionInfo(res.json);
      // "Session 'x' already exists. Use PUT to update it." — any other 422 is a real rejection.
      if (!/already exists/i.test(res.text)) throw wahaError({ status: res.status, json: res.json, text: res.text });
      // Update in place, keeping the operator's own settings (proxy, other webhooks, metadata):
      // PUT replaces the whole config, so start from the current one.
      const current = await wahaCall(deps, ch, { method: 'GET', path: base(ch) });
      const cfg = isRecord(current.json) && isRecord(current.json.config) ? current.json.config : {};
      const others = Array.isArray(cfg.webhooks) ? cfg.webhooks.filter((w) => !isOurs(w, opts.webhookUrl)) : [];
      const put = await wahaCall(deps, ch, { method: 'PUT', path: base(ch), body: { config: { ...cfg, webhooks: [...others, ours] } } });
      const info = sessionInfo(put.json);
      if (start && (info.status === 'stopped' || info.status === 'failed')) return action(ch, 'start');
      return info;
    },
    start: (ch) => action(ch, 'start'),
    stop: (ch) => action(ch, 'stop'),
    restart: (ch) => action(ch, 'restart'),
    logout: (ch) => action(ch, 'logout'),
    async unhook(ch, opts) {
      const current = await wahaCall(deps, ch, { method: 'GET', path: base(ch), allow: [404] });
      if (current.status === 404) return; // no session: nothing posts
      const cfg = isRecord(current.json) && isRecord(current.json.config) ? current.json.config : {};
      const hooks = Array.isArray(cfg.webhooks) ? cfg.webhooks : [];
      const others = hooks.filter((w) => !isOurs(w, opts.webhookUrl));
      if (others.length === hooks.length) return;
      await wahaCall(deps, ch, { method: 'PUT', path: base(ch), body: { config: { ...cfg, webhooks: others } } });
    },
    async delete(ch) {
      // Deleting a session that is already gone is success: the channel wanted it gone.
      await wahaCall(deps, ch, { method: 'DELETE', path: base(ch), allow: [404] });
    },
    async get(ch) {
      return sessionInfo((await wahaCall(deps, ch, { method: 'GET', path: base(ch) })).json);
    },
    async qr(ch, format) {
      const path = `/api/${seg(ch.credentials.sessionName)}/auth/qr`;
      if (format === 'raw') {
        const res = await wahaCall(deps, ch, { method: 'GET', path, query: { format: 'raw' } });
        const value = isRecord(res.json) ? str(res.json.value) : undefined;
        if (!value) throw badAnswer('QR raw answer has no value');
        return { raw: value };
      }
      const res = await wahaCall(deps, ch, { method: 'GET', path, query: { format: 'image' }, accept: 'image/png' });
      // Some servers/proxies answer JSON `{mimetype, data: <base64>}` whatever Accept says.
      if (isRecord(res.json) && typeof res.json.data === 'string') return { png: Buffer.from(res.json.data, 'base64') };
      if (res.bytes.length < 8 || res.bytes.readUInt32BE(0) !== 0x89504e47) throw badAnswer('QR answer is not a PNG');
      return { png: res.bytes };
    },
    async me(ch) {
      return meOf((await wahaCall(deps, ch, { method: 'GET', path: `${base(ch)}/me` })).json);
    },
  };
  return ops;
}

function badAnswer(message: string): ProviderError {
  return new ProviderError({ kind: 'unknown', retryable: false, message: `WAHA: ${message}` });
}
