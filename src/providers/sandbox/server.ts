import { normalizeAddress } from '../../core/address.js';
import type { DeliveryStatus, OutboundContent } from '../../core/canonical.js';
import { createHash } from 'node:crypto';
import { safeEqual } from '../../core/signatures.js';
import { isRecord } from '../http.js';
import { SimServer, type SimRequest, type SimResponse } from '../simulator-kit.js';
import { createDelivery, newId, type DeliveryRecord } from './delivery.js';
import { API_PREFIX, TEST_NUMBERS, type WireEvent, type WireInboundContent } from './protocol.js';
import { Invalid, validateSend } from './validate.js';

/**
 * The sandbox "provider": a simulated WhatsApp line so a newcomer can try Switchboard with no
 * provider account. Switchboard runs it in-process on a loopback port and talks to it over HTTP
 * through the sandbox adapter, exactly as it talks to Cloud API, WAHA or UltraMsg. Outbound
 * messages go sent → delivered → read on a realistic schedule (signed status webhooks), and a
 * simulated contact can reply (`POST …/contacts/{phone}/reply`) to produce inbound messages.
 */

export interface SandboxSchedule {
  sentMs: number;
  deliveredMs: number;
  readMs: number;
}

export interface SandboxServerOptions {
  /** Where the sandbox posts a line's webhooks (Switchboard's `/webhooks/sandbox/{channelToken}`). */
  webhookUrlFor(lineId: string): string | undefined | Promise<string | undefined>;
  /** Delays from the send to each status; defaults 300 ms / 1.2 s / 3 s. */
  schedule?: Partial<SandboxSchedule>;
  /** ± fraction applied to each delay (default 0.2) so timing looks like a real network. */
  jitter?: number;
  /** Waits between webhook retries (default 1 s, 5 s, 30 s). */
  retryDelaysMs?: number[];
  fetch?: typeof fetch;
  random?: () => number;
}

interface OutMsg {
  id: string;
  to: string;
  clientRef?: string;
  status: 'accepted' | DeliveryStatus;
}
interface InMsg {
  id: string;
  from: string;
  read: boolean;
}
interface Line {
  id: string;
  secret: string;
  phone: string;
  out: Map<string, OutMsg>;
  byClientRef: Map<string, string>;
  inbound: Map<string, InMsg>;
}

const DEFAULT_SCHEDULE: SandboxSchedule = { sentMs: 300, deliveredMs: 1200, readMs: 3000 };
/** Bounds, because the sandbox lives as long as the Switchboard process. */
const MAX_LINES = 10_000;
const MAX_MESSAGES_PER_LINE = 1000;
const KEEP_REQUESTS = 200;

const fail = (status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): SimResponse => ({
  status,
  json: { error: { code, message, ...extra } },
  ...(headers ? { headers } : {}),
});

/** A stable phone-like number for a line: +1 555 followed by 7 digits from a hash of its id. */
export function linePhone(lineId: string): string {
  const n = createHash('sha256').update(lineId).digest().readUInt32BE(0);
  return `+1555${1_000_000 + (n % 9_000_000)}`;
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  if (map.size > MAX_MESSAGES_PER_LINE) map.delete(map.keys().next().value as string);
}

export function createSandboxServer(opts: SandboxServerOptions) {
  const schedule = { ...DEFAULT_SCHEDULE, ...opts.schedule };
  const jitter = opts.jitter ?? 0.2;
  const random = opts.random ?? Math.random;
  const lines = new Map<string, Line>();
  const pending = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();
  const tasks = new Set<Promise<unknown>>();
  let closed = false;

  function sleep(ms: number): Promise<void> {
    if (closed) return Promise.reject(new Error('sandbox closed'));
    return new Promise((resolve, reject) => {
      const entry = { timer: setTimeout(() => (pending.delete(entry), resolve()), Math.max(0, ms)), reject };
      pending.add(entry);
    });
  }
  const delivery = createDelivery({ fetch: opts.fetch ?? fetch, webhookUrlFor: opts.webhookUrlFor, retryDelaysMs: opts.retryDelaysMs ?? [1000, 5000, 30_000], sleep });
  const jittered = (ms: number) => Math.round(ms * (1 + jitter * (2 * random() - 1)));

  function track(p: Promise<unknown>): void {
    const q = p.catch(() => undefined).finally(() => tasks.delete(q));
    tasks.add(q);
  }

  function emitStatus(line: Line, msg: OutMsg, status: DeliveryStatus): Promise<DeliveryRecord> {
    msg.status = status;
    const event: WireEvent = { id: newId('sbe'), type: 'status', timestamp: new Date().toISOString(), status: { messageId: msg.id, recipient: msg.to, status } };
    if (msg.clientRef) event.status.clientRef = msg.clientRef;
    if (status === 'failed') event.status.error = { code: 'recipient_unavailable', title: 'The recipient is not on WhatsApp', detail: `${TEST_NUMBERS.undeliverable} is the sandbox's undeliverable test number` };
    return delivery.deliver(line.id, line.secret, event);
  }

  function contactWrites(line: Line, from: string, content: WireInboundContent, extra: { profileName?: string; replyTo?: string }): string {
    const id = newId('sbm');
    remember(line.inbound, id, { id, from, read: false });
    const message: Extract<WireEvent, { type: 'message' }>['message'] = { id, from, to: line.phone, profileName: extra.profileName ?? 'Sandbox contact', content };
    if (extra.replyTo) message.replyTo = extra.replyTo;
    track(delivery.deliver(line.id, line.secret, { id: newId('sbe'), type: 'message', timestamp: new Date().toISOString(), message }));
    return id;
  }

  /** The life of one outbound message; each webhook waits for the previous, so order holds. */
  async function lifecycle(line: Line, msg: OutMsg, content: OutboundContent): Promise<void> {
    const t = [jittered(schedule.sentMs), jittered(schedule.deliveredMs), jittered(schedule.readMs)].sort((a, b) => a - b) as [number, number, number];
    const start = Date.now();
    const until = (ms: number) => sleep(ms - (Date.now() - start));
    await until(t[0]);
    await emitStatus(line, msg, 'sent');
    await until(t[1]);
    if (msg.to === TEST_NUMBERS.undeliverable) {
      await emitStatus(line, msg, 'failed');
      return;
    }
    await emitStatus(line, msg, 'delivered');
    await until(t[2]);
    await emitStatus(line, msg, 'read');
    if (msg.to === TEST_NUMBERS.echo && content.type !== 'reaction') {
      await sleep(jittered(schedule.sentMs));
      const said = content.type === 'text' ? content.text : `[${content.type}]`;
      contactWrites(line, msg.to, { type: 'text', text: `Echo: ${said}` }, { profileName: 'Echo bot', replyTo: msg.id });
    }
  }

  /** Bearer auth; a line is registered by its first authenticated call. */
  function auth(req: SimRequest): Line | SimResponse {
    if (server.received.length > KEEP_REQUESTS) server.received.splice(0, server.received.length - KEEP_REQUESTS);
    const lineId = req.params.lineId ?? '';
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$/.test(lineId)) return fail(404, 'not_found', 'no such line id');
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m || m[1]!.length < 16) return fail(401, 'unauthorized', 'send "Authorization: Bearer <line secret>" (at least 16 characters)');
    const existing = lines.get(lineId);
    if (existing) return safeEqual(existing.secret, m[1]!) ? existing : fail(401, 'unauthorized', 'wrong secret for this line');
    if (lines.size >= MAX_LINES) return fail(503, 'capacity', 'too many sandbox lines');
    const line: Line = { id: lineId, secret: m[1]!, phone: linePhone(lineId), out: new Map(), byClientRef: new Map(), inbound: new Map() };
    lines.set(lineId, line);
    return line;
  }

  const getLine: (req: SimRequest) => SimResponse = (req) => {
    const line = auth(req);
    if (!('id' in line)) return line;
    return { status: 200, json: { lineId: line.id, phone: line.phone, status: 'working' } };
  };

  const send = (req: SimRequest): SimResponse => {
    const line = auth(req);
    if (!('id' in line)) return line;
    let body;
    try {
      body = validateSend(req.json);
    } catch (err) {
      if (err instanceof Invalid) return fail(400, 'invalid_request', `${err.field} ${err.message}`, { field: err.field });
      throw err;
    }
    if (body.to === TEST_NUMBERS.rateLimited) return fail(429, 'rate_limited', 'sandbox test number: always throttled', {}, { 'retry-after': '1' });
    const seen = body.clientRef ? line.byClientRef.get(body.clientRef) : undefined;
    if (seen) return { status: 200, json: { id: seen, status: 'accepted', duplicate: true } };
    const msg: OutMsg = { id: newId('sbm'), to: body.to, status: 'accepted' };
    if (body.clientRef) {
      msg.clientRef = body.clientRef;
      remember(line.byClientRef, body.clientRef, msg.id);
    }
    remember(line.out, msg.id, msg);
    track(lifecycle(line, msg, body.content));
    return { status: 202, json: { id: msg.id, status: 'accepted', duplicate: false } };
  };

  const getMessage = (req: SimRequest): SimResponse => {
    const line = auth(req);
    if (!('id' in line)) return line;
    const out = line.out.get(req.params.messageId ?? '');
    if (out) return { status: 200, json: { id: out.id, direction: 'outbound', to: out.to, status: out.status, clientRef: out.clientRef ?? null } };
    const inb = line.inbound.get(req.params.messageId ?? '');
    if (inb) return { status: 200, json: { id: inb.id, direction: 'inbound', from: inb.from, read: inb.read } };
    return fail(404, 'not_found', 'no such message on this line');
  };

  const markRead = (req: SimRequest): SimResponse => {
    const line = auth(req);
    if (!('id' in line)) return line;
    const inb = line.inbound.get(req.params.messageId ?? '');
    if (!inb) return fail(404, 'not_found', 'no inbound message with this id on this line');
    inb.read = true;
    return { status: 200, json: { ok: true } };
  };

  const reply = (req: SimRequest): SimResponse => {
    const line = auth(req);
    if (!('id' in line)) return line;
    const from = normalizeAddress(req.params.phone ?? '');
    if (!from?.startsWith('+')) return fail(400, 'invalid_request', 'phone must be a phone number', { field: 'phone' });
    const b = req.json;
    if (!isRecord(b) || typeof b.text !== 'string' || b.text.length === 0 || [...b.text].length > 4096) {
      return fail(400, 'invalid_request', 'text must be 1–4096 characters', { field: 'text' });
    }
    if (b.profileName !== undefined && (typeof b.profileName !== 'string' || b.profileName.length > 100)) return fail(400, 'invalid_request', 'profileName must be a short string', { field: 'profileName' });
    if (b.replyTo !== undefined && typeof b.replyTo !== 'string') return fail(400, 'invalid_request', 'replyTo must be a message id', { field: 'replyTo' });
    const id = contactWrites(line, from, { type: 'text', text: b.text }, { profileName: b.profileName as string | undefined, replyTo: b.replyTo as string | undefined });
    return { status: 202, json: { id } };
  };

  const server = new SimServer(
    [
      { method: 'GET', path: `${API_PREFIX}/:lineId`, handler: getLine },
      { method: 'POST', path: `${API_PREFIX}/:lineId/messages`, handler: send },
      { method: 'GET', path: `${API_PREFIX}/:lineId/messages/:messageId`, handler: getMessage },
      { method: 'POST', path: `${API_PREFIX}/:lineId/messages/:messageId/read`, handler: markRead },
      { method: 'POST', path: `${API_PREFIX}/:lineId/contacts/:phone/reply`, handler: reply },
    ],
    () => fail(404, 'route_not_found', 'no such sandbox endpoint'),
  );

  return {
    server,
    listen: (port?: number) => server.listen(port),
    get url() {
      return server.url;
    },
    /** Every webhook post (bounded log), for tests and the dashboard's "sandbox activity". */
    get deliveries(): readonly DeliveryRecord[] {
      return delivery.log;
    },
    /** Resolves when no status schedule or webhook delivery is in progress. */
    async idle(): Promise<void> {
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
    },
    line: (lineId: string): { phone: string } | undefined => {
      const l = lines.get(lineId);
      return l ? { phone: l.phone } : undefined;
    },
    async close(): Promise<void> {
      closed = true;
      for (const p of pending) {
        clearTimeout(p.timer);
        p.reject(new Error('sandbox closed'));
      }
      pending.clear();
      await Promise.allSettled([...tasks]);
      await server.close();
    },
  };
}

export type SandboxServer = ReturnType<typeof createSandboxServer>;
