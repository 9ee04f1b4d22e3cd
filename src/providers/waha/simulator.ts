import { SimServer, type FaultRule, type SimRequest } from '../simulator-kit.js';
import { notFound } from './simulator-validate.js';
import { buildInbound, chatIdOf, type InboundSpec } from './simulator-messages.js';
import { ACK_NAME, WahaModel, type SimMe, type SimSession, type WahaEngine, type WebhookDelivery } from './simulator-model.js';
import { wahaRoutes } from './simulator-routes.js';
import { ackEvent } from './simulator-messages.js';

/**
 * A fake WAHA server over real HTTP on 127.0.0.1, faithful where Switchboard depends on it:
 *  - `X-Api-Key` (or `?x-api-key=`) on every route, 401 `{"message":"Unauthorized","statusCode":401}`;
 *  - sessions with the real status machine: create/start → STARTING → SCAN_QR_CODE; `pair()` (the
 *    phone scanning the QR) → WORKING with `me`; stop/restart/logout/delete; QR as PNG (a real QR
 *    code), base64 JSON or raw;
 *  - send endpoints validated like NestJS (400 list of messages), 404 unknown session, the real 422
 *    body while not WORKING, 201 with the ENGINE's answer shape (WEBJS or NOWEB);
 *  - webhooks to the session's configured URLs: `message`/`message.any` for inbound, `message.ack`
 *    SERVER → DEVICE → READ after each send, `session.status` on every change; signed with the
 *    session's HMAC key, with `X-Webhook-Request-Id` / `X-Webhook-Timestamp`, retried per `retries`.
 * Every request is recorded (`received`) and faults can be injected (`injectFault`).
 */

export interface WahaSimulatorOptions {
  apiKey: string;
  /** Shapes send answers and raw `_data`. Default WEBJS. */
  engine?: WahaEngine;
  version?: string;
  /** STARTING lasts this long before SCAN_QR_CODE / WORKING. Default 5 ms. */
  startDelayMs?: number;
  /** Emit SERVER → DEVICE → READ acks after each send. Default true. */
  autoAck?: boolean;
  ackDelayMs?: number;
  /** Pause between webhook retries (stands in for `retries.delaySeconds`). Default 5 ms. */
  webhookRetryDelayMs?: number;
  /** Behave like WAHA Core < 2026.6.1: only the session named `default` may exist. */
  onlyDefaultSession?: boolean;
}

export class WahaSimulator {
  readonly server: SimServer;
  readonly model: WahaModel;
  private readonly failingChats = new Set<string>();

  constructor(readonly opts: WahaSimulatorOptions) {
    this.model = new WahaModel({
      engine: opts.engine ?? 'WEBJS',
      version: opts.version ?? '2026.7.1',
      startDelayMs: opts.startDelayMs ?? 5,
      webhookRetryDelayMs: opts.webhookRetryDelayMs ?? 5,
    });
    const routes = wahaRoutes(this.model, {
      apiKey: opts.apiKey,
      autoAck: opts.autoAck ?? true,
      ackDelayMs: opts.ackDelayMs ?? 5,
      onlyDefaultSession: opts.onlyDefaultSession ?? false,
      failingChats: this.failingChats,
    });
    // NestJS answers unknown routes with its default 404 envelope.
    this.server = new SimServer(routes, (req) => notFound(`Cannot ${req.method} ${req.path}`));
  }

  listen(port = 0): Promise<string> {
    return this.server.listen(port);
  }

  get url(): string {
    return this.server.url;
  }

  async close(): Promise<void> {
    this.model.close();
    await this.server.close();
  }

  get received(): SimRequest[] {
    return this.server.received;
  }

  requests(path?: string | RegExp): SimRequest[] {
    return this.server.requests(path);
  }

  injectFault(rule: FaultRule): void {
    this.server.injectFault(rule);
  }

  get deliveries(): WebhookDelivery[] {
    return this.model.deliveries;
  }

  /** Waits until no status transition, ack or webhook delivery is outstanding. */
  idle(): Promise<void> {
    return this.model.idle();
  }

  session(name: string): SimSession {
    const s = this.model.sessions.get(name);
    if (!s) throw new Error(`simulator: no session ${name}`);
    return s;
  }

  /** The phone scanned the QR: the session becomes WORKING with this account as `me`. */
  pair(name: string, me: Partial<SimMe> = {}): SimMe {
    const s = this.session(name);
    if (s.status !== 'SCAN_QR_CODE') throw new Error(`simulator: ${name} is ${s.status}, not SCAN_QR_CODE`);
    s.paired = { id: me.id ?? '31612345678@c.us', pushName: me.pushName ?? 'Simulated Line', ...(me.lid ? { lid: me.lid } : {}) };
    this.model.setStatus(s, 'WORKING');
    return s.paired;
  }

  /** The phone unlinked the device / QR attempts ran out: FAILED. */
  fail(name: string): void {
    this.model.setStatus(this.session(name), 'FAILED');
  }

  /** Sends to this chat fail: acks go straight to -1 ERROR. */
  failDeliveriesTo(chatId: string): void {
    this.failingChats.add(chatIdOf(chatId));
  }

  /** Emits an ack for a message sent earlier (e.g. PLAYED for a voice note). */
  ack(name: string, messageId: string, ack: -1 | 0 | 1 | 2 | 3 | 4): void {
    const s = this.session(name);
    const msg = this.model.findMessage(s, messageId);
    if (!msg) throw new Error(`simulator: no message ${messageId}`);
    msg.ack = ack;
    msg.ackName = ACK_NAME[ack];
    const { event, payload } = ackEvent(msg, ack);
    this.model.emit(s, event, payload);
  }

  /** Someone writes to the line: emits `message` and `message.any`; returns the message id. */
  sendInbound(name: string, spec: InboundSpec): string {
    const s = this.session(name);
    if (s.status !== 'WORKING' || !s.paired) throw new Error(`simulator: ${name} is ${s.status}; inbound needs WORKING`);
    const msg = buildInbound(this.model.opts.engine, s.paired, spec, (bare, mimetype) => {
      const ext = (mimetype.split('/')[1] ?? 'bin').split(';')[0];
      const file = `${bare}.${ext}`;
      if (spec.media) s.files.set(file, { data: spec.media.data, mimetype: spec.media.mimetype });
      // Like a WAHA behind a proxy: the URL names WAHA's own idea of its address, not ours.
      return `http://localhost:3000/api/files/${encodeURIComponent(name)}/${file}`;
    });
    const chatId = msg.from as string;
    this.model.record(s, chatId, msg);
    const sender = (msg.participant as string | null) ?? chatId;
    if (!s.contacts.has(sender)) s.contacts.set(sender, { id: sender, ...(spec.pushName ? { pushname: spec.pushName } : {}) });
    this.model.emit(s, 'message', msg);
    this.model.emit(s, 'message.any', msg);
    return msg.id as string;
  }

  addContact(name: string, c: { id: string; name?: string; pushname?: string }): void {
    this.session(name).contacts.set(c.id, c);
  }

  addGroup(name: string, g: { id: string; subject: string; participants: string[] }): void {
    this.session(name).groups.set(g.id, g);
  }
}

export function createWahaSimulator(opts: WahaSimulatorOptions): WahaSimulator {
  return new WahaSimulator(opts);
}

export type { InboundSpec, WahaEngine, WebhookDelivery, SimMe };
