import { randomBytes } from 'node:crypto';
import { hmac } from '../../core/signatures.js';
import { isRecord } from '../http.js';
import { postWebhook } from '../simulator-kit.js';

/**
 * State of the fake WAHA server: sessions with the real status machine, message history, and the
 * webhook emitter (signed like WAHA: HMAC-SHA512 hex of the raw body, retried per the session's
 * `retries` config). The HTTP surface lives in `simulator-routes.ts`.
 */

export type WahaEngine = 'WEBJS' | 'NOWEB';
export type WahaStatus = 'STOPPED' | 'STARTING' | 'SCAN_QR_CODE' | 'WORKING' | 'FAILED';

export interface SimMe {
  id: string;
  pushName: string;
  lid?: string;
}

export interface SimSession {
  name: string;
  status: WahaStatus;
  config: Record<string, unknown>;
  statuses: { status: WahaStatus; timestamp: number }[];
  /** Pairing survives stop/start (WAHA keeps the auth files); logout clears it. */
  paired: SimMe | null;
  qr: string | undefined;
  /** WAMessage history per chat id, oldest first. */
  history: Map<string, Record<string, unknown>[]>;
  contacts: Map<string, { id: string; name?: string; pushname?: string }>;
  groups: Map<string, { id: string; subject: string; participants: string[] }>;
  files: Map<string, { data: Buffer; mimetype: string }>;
}

export interface WebhookDelivery {
  url: string;
  event: string;
  session: string;
  body: string;
  headers: Record<string, string>;
  /** HTTP status of the last attempt; 0 when the connection failed. */
  status: number;
  attempts: number;
}

export interface ModelOptions {
  engine: WahaEngine;
  version: string;
  startDelayMs: number;
  webhookRetryDelayMs: number;
}

export const ACK_NAME: Record<number, string> = { [-1]: 'ERROR', 0: 'PENDING', 1: 'SERVER', 2: 'DEVICE', 3: 'READ', 4: 'PLAYED' };

/** Lower-case ULID-like event id, as WAHA writes (`evt_` + 26 chars of Crockford base32). */
function eventId(): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rand = [...randomBytes(16)].map((b) => alphabet[b % 32]).join('');
  return `evt_${time}${rand}`;
}

/** WhatsApp-style message id: `3EB0` + 18 upper-case hex digits. */
export function newBareId(): string {
  return `3EB0${randomBytes(9).toString('hex').toUpperCase()}`;
}

export class WahaModel {
  readonly sessions = new Map<string, SimSession>();
  readonly deliveries: WebhookDelivery[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(readonly opts: ModelOptions) {}

  newSession(name: string, config: Record<string, unknown>): SimSession {
    const s: SimSession = {
      name,
      status: 'STOPPED',
      config,
      statuses: [],
      paired: null,
      qr: undefined,
      history: new Map(),
      contacts: new Map(),
      groups: new Map(),
      files: new Map(),
    };
    this.sessions.set(name, s);
    return s;
  }

  me(s: SimSession): SimMe | null {
    return s.status === 'WORKING' ? s.paired : null;
  }

  setStatus(s: SimSession, status: WahaStatus): void {
    s.status = status;
    s.statuses = [...s.statuses, { status, timestamp: Date.now() }].slice(-3);
    s.qr = status === 'SCAN_QR_CODE' ? `2@${randomBytes(48).toString('base64')},${randomBytes(32).toString('base64')},${randomBytes(32).toString('base64')}` : undefined;
    this.emit(s, 'session.status', { name: s.name, status, statuses: s.statuses, data: null });
  }

  /** STARTING now, then SCAN_QR_CODE (or WORKING when already paired) after `startDelayMs`. */
  start(s: SimSession): void {
    if (s.status !== 'STOPPED' && s.status !== 'FAILED') return;
    this.setStatus(s, 'STARTING');
    this.later(this.opts.startDelayMs, () => {
      if (this.sessions.get(s.name) !== s || s.status !== 'STARTING') return;
      this.setStatus(s, s.paired ? 'WORKING' : 'SCAN_QR_CODE');
    });
  }

  stop(s: SimSession): void {
    if (s.status !== 'STOPPED') this.setStatus(s, 'STOPPED');
  }

  /** Runs `fn` after `ms`, tracked so `idle()` can wait for it and `close()` can cancel it. */
  later(ms: number, fn: () => void | Promise<void>): void {
    if (this.closed) return;
    let done!: () => void;
    const p = new Promise<void>((r) => (done = r));
    this.pending.add(p);
    const t = setTimeout(() => {
      this.timers.delete(t);
      Promise.resolve()
        .then(fn)
        .catch(() => undefined)
        .finally(() => {
          this.pending.delete(p);
          done();
        });
    }, ms);
    this.timers.add(t);
  }

  /** Resolves once no timer or webhook delivery is outstanding (new ones started meanwhile included). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pending.clear();
  }

  private webhooks(s: SimSession): Record<string, unknown>[] {
    return Array.isArray(s.config.webhooks) ? s.config.webhooks.filter(isRecord) : [];
  }

  /** Sends `event` to every webhook of the session subscribed to it (or to `*`). */
  emit(s: SimSession, event: string, payload: unknown): void {
    const me = this.me(s);
    const envelope = {
      id: eventId(),
      timestamp: Date.now(),
      event,
      session: s.name,
      metadata: isRecord(s.config.metadata) ? s.config.metadata : {},
      ...(me ? { me } : {}),
      payload,
      engine: this.opts.engine,
      environment: { version: this.opts.version, engine: this.opts.engine, tier: 'CORE', browser: null, platform: 'linux/x64', worker: { id: null } },
    };
    const body = JSON.stringify(envelope);
    for (const hook of this.webhooks(s)) {
      const events = Array.isArray(hook.events) ? hook.events : [];
      if (typeof hook.url !== 'string' || !(events.includes(event) || events.includes('*'))) continue;
      this.later(0, () => this.deliver(s.name, event, hook, body));
    }
  }

  private async deliver(session: string, event: string, hook: Record<string, unknown>, body: string): Promise<void> {
    const headers: Record<string, string> = {
      'user-agent': `WAHA/${this.opts.version}`,
      'x-webhook-request-id': randomBytes(12).toString('hex'),
      'x-webhook-timestamp': String(Date.now()),
    };
    const key = isRecord(hook.hmac) && typeof hook.hmac.key === 'string' && hook.hmac.key ? hook.hmac.key : undefined;
    if (key) {
      headers['x-webhook-hmac'] = hmac('sha512', key, body, 'hex');
      headers['x-webhook-hmac-algorithm'] = 'sha512';
    }
    for (const h of Array.isArray(hook.customHeaders) ? hook.customHeaders : []) {
      if (isRecord(h) && typeof h.name === 'string' && typeof h.value === 'string') headers[h.name.toLowerCase()] = h.value;
    }
    const attempts = isRecord(hook.retries) && typeof hook.retries.attempts === 'number' ? Math.max(1, Math.min(hook.retries.attempts, 20)) : 1;
    const d: WebhookDelivery = { url: hook.url as string, event, session, body, headers, status: 0, attempts: 0 };
    this.deliveries.push(d);
    for (let i = 0; i < attempts && !this.closed; i++) {
      d.attempts = i + 1;
      try {
        d.status = (await postWebhook(d.url, body, headers)).status;
      } catch {
        d.status = 0;
      }
      if (d.status >= 200 && d.status < 300) return;
      await new Promise((r) => setTimeout(r, this.opts.webhookRetryDelayMs * (i + 1)));
    }
  }

  /** Stores a message in the chat history (newest last) and remembers the peer as a contact. */
  record(s: SimSession, chatId: string, msg: Record<string, unknown>): void {
    const list = s.history.get(chatId) ?? [];
    list.push(msg);
    s.history.set(chatId, list);
  }

  findMessage(s: SimSession, id: string): Record<string, unknown> | undefined {
    for (const list of s.history.values()) {
      const m = list.find((x) => x.id === id);
      if (m) return m;
    }
    return undefined;
  }
}
