import { isRecord } from '../http.js';
import { SimServer, SlidingWindows, type SimRequest, type SimResponse } from '../simulator-kit.js';
import type { CloudApiCredentials } from './credentials.js';
import { SimMediaStore } from './sim-media.js';
import {
  DEFAULT_PHONE,
  NOT_JSON_ERROR,
  PAIR_RATE_ERROR,
  THROUGHPUT_ERROR,
  graphError,
  unsupported,
  usageHeader,
  inboundPayload,
  newWamid,
  statusPayload,
  type SimInbound,
  type SimPhone,
  type StatusSpec,
} from './sim-payloads.js';
import { HELLO_WORLD, SimTemplateStore, type SimTemplateInput } from './sim-templates.js';
import { validateMarkRead, validateSendBody } from './sim-validate.js';
import { SimWebhookSender, type SignatureMode, type SimWebhook } from './sim-webhooks.js';

export type { SimInbound, SimPhone } from './sim-payloads.js';
export type { SimTemplate } from './sim-validate.js';
export type { SimWebhook } from './sim-webhooks.js';

/**
 * A Graph-API-like fake of the WhatsApp Cloud API on 127.0.0.1, for adapter tests and local runs.
 * It checks what Meta checks (bearer token per number, required fields, content limits, templates,
 * media ids), throttles like Meta (80 msg/s per number → 130429; optional pair rate → 131056),
 * answers with Meta's shapes, and can post signed status / inbound webhooks to a URL.
 */
export interface CloudApiSimOptions {
  phones?: (Partial<SimPhone> & { phoneNumberId: string })[];
  appSecret?: string;
  /** Where status and inbound webhooks go (Switchboard's `POST /webhooks/cloud-api`). */
  webhookUrl?: string;
  /** Emit sent → delivered → read for every accepted message. Off by default. */
  statusWebhooks?: boolean;
  /** Gap between successive status webhooks of one message. Default 5 ms. */
  statusDelayMs?: number;
  /** Per-number messages per second before 130429. Default 80 (Meta's default tier). */
  throughputPerSecond?: number;
  /** Adds `Retry-After` (seconds) to 130429 answers; Meta itself sends none. */
  throughputRetryAfterSeconds?: number;
  /** (business, user) pair limit → 131056; off by default. Meta: about 1 message per 6 s per user. */
  pairRateLimit?: { max: number; windowMs: number; httpStatus?: number };
  /** Recipient (`to` digits or BSUID) → error code: answered 200, then a `failed` status webhook. */
  asyncFailures?: Record<string, number>;
  templates?: SimTemplateInput[];
  /** Largest template page the simulator serves whatever `limit` asks (default 1000). */
  templatePageSize?: number;
  /** Milliseconds clock for rate windows, records and URL expiry; tests freeze it. Default Date.now. */
  now?: () => number;
}

export interface SimSent {
  phoneNumberId: string;
  wamid: string;
  type: string;
  recipient: StatusSpec['recipient'];
  body: Record<string, unknown>;
  at: number;
}

const VERSION = /^v\d+\.\d+$/;

export class CloudApiSimulator {
  readonly server: SimServer;
  readonly phones: SimPhone[];
  readonly appSecret: string;
  webhookUrl: string | undefined;
  statusWebhooks: boolean;
  statusDelayMs: number;
  /** Every accepted message, in order. */
  readonly sent: SimSent[] = [];
  /** Every accepted mark-as-read (with typing flag). */
  readonly reads: { phoneNumberId: string; messageId: string; typing: boolean; at: number }[] = [];
  /** Sends refused with 130429. */
  throttled = 0;
  readonly media: SimMediaStore;
  readonly templates: SimTemplateStore;
  private readonly sender: SimWebhookSender;
  private readonly expiredTokens = new Set<string>();
  private readonly throughput = new Map<string, number>();
  /** Accepted sends per number in the last second, and per (number, recipient) in the pair window. */
  private readonly perSecond = new SlidingWindows(1000);
  private readonly perPair: SlidingWindows | undefined;
  private readonly asyncFailures: Map<string, number>;
  private readonly now: () => number;

  constructor(private readonly opts: CloudApiSimOptions = {}) {
    this.phones = (opts.phones ?? [DEFAULT_PHONE]).map((p, i) => ({
      ...DEFAULT_PHONE,
      accessToken: `${DEFAULT_PHONE.accessToken}-${i}`,
      displayPhoneNumber: `+1 555-000-${String(1000 + i)}`,
      ...p,
    }));
    this.now = opts.now ?? Date.now;
    this.appSecret = opts.appSecret ?? 'sim-app-secret-0123456789abcdef';
    this.webhookUrl = opts.webhookUrl;
    this.statusWebhooks = opts.statusWebhooks ?? false;
    this.statusDelayMs = opts.statusDelayMs ?? 5;
    this.asyncFailures = new Map(Object.entries(opts.asyncFailures ?? {}));
    this.perPair = opts.pairRateLimit ? new SlidingWindows(opts.pairRateLimit.windowMs) : undefined;
    const wabas = [...new Set(this.phones.map((p) => p.wabaId))];
    this.templates = new SimTemplateStore(wabas[0]!, opts.templatePageSize);
    for (const t of opts.templates ?? wabas.map((w) => ({ ...HELLO_WORLD, wabaId: w })))
      this.templates.add(t);
    this.sender = new SimWebhookSender(this.appSecret, () => this.webhookUrl);
    this.media = new SimMediaStore(() => this.server.url, this.now);
    this.server = new SimServer(
      [
        { method: 'GET', path: '/whatsapp_business/attachments/', handler: (r) => this.onDownload(r) },
        { method: 'POST', path: '/:version/:id/messages', handler: (r) => this.onMessages(r) },
        { method: 'POST', path: '/:version/:id/media', handler: (r) => this.onUpload(r) },
        { method: 'GET', path: '/:version/:id/message_templates', handler: (r) => this.onTemplates(r) },
        { method: 'GET', path: '/:version/:id', handler: (r) => this.onGetObject(r) },
        { method: 'DELETE', path: '/:version/:id', handler: (r) => this.onDeleteMedia(r) },
      ],
      (r) => graphError(unsupported(r.method, r.path)),
    );
  }

  get url(): string {
    return this.server.url;
  }

  /** Every HTTP request received, in order (the kit's log). */
  get received(): SimRequest[] {
    return this.server.received;
  }

  requests(path?: string | RegExp): SimRequest[] {
    return this.server.requests(path);
  }

  listen(port = 0): Promise<string> {
    return this.server.listen(port);
  }

  /** Waits for in-flight webhooks, then stops the server. */
  async close(): Promise<void> {
    await this.sender.stop();
    await this.server.close();
  }

  /** Resolves once every scheduled webhook has been posted. */
  idle(): Promise<void> {
    return this.sender.idle();
  }

  /** Every webhook the simulator posted, with the answer it got. */
  get webhooks(): SimWebhook[] {
    return this.sender.log;
  }

  /** Credentials pointing at this simulator for phone `i`, ready for the adapter. */
  credentials(i = 0): CloudApiCredentials {
    const p = this.phones[i];
    if (!p) throw new Error(`no simulated phone #${i}`);
    return {
      phoneNumberId: p.phoneNumberId,
      wabaId: p.wabaId,
      accessToken: p.accessToken,
      appSecret: this.appSecret,
      verifyToken: 'sim-verify-token',
      graphBaseUrl: this.url,
      apiVersion: 'v23.0',
    };
  }

  /** Makes a number's token answer 190/463 "Session has expired" (all numbers when omitted). */
  setTokenExpired(expired: boolean, phoneNumberId?: string): void {
    for (const p of this.phones.filter((x) => !phoneNumberId || x.phoneNumberId === phoneNumberId)) {
      if (expired) this.expiredTokens.add(p.accessToken);
      else this.expiredTokens.delete(p.accessToken);
    }
  }

  setThroughput(perSecond: number, phoneNumberId?: string): void {
    for (const p of this.phones.filter((x) => !phoneNumberId || x.phoneNumberId === phoneNumberId))
      this.throughput.set(p.phoneNumberId, perSecond);
  }

  failAsync(recipient: string, code: number): void {
    this.asyncFailures.set(recipient.replace(/^\+/, ''), code);
  }

  addTemplate(t: SimTemplateInput): void {
    this.templates.add(t);
  }

  /** The most messages one number had accepted within any one-second window. */
  maxMessagesPerSecond(phoneNumberId = this.phones[0]!.phoneNumberId): number {
    const times = this.sent
      .filter((s) => s.phoneNumberId === phoneNumberId)
      .map((s) => s.at)
      .sort((a, b) => a - b);
    let best = 0;
    for (let i = 0, j = 0; j < times.length; j++) {
      while (times[j]! - times[i]! >= 1000) i++;
      best = Math.max(best, j - i + 1);
    }
    return best;
  }

  /** Posts a payload (object or exact string) to the webhook URL, signed with the app secret. */
  postSigned(
    payload: unknown,
    opts: { url?: string; signature?: SignatureMode } = {},
  ): Promise<{ status: number; text: string; body: string }> {
    return this.sender.post(payload, opts);
  }

  /**
   * Delivers inbound messages as Meta would: one signed POST, batched by WABA (entry) and number
   * (change). Returns the answer and the wamids used.
   */
  async sendInbound(
    specs: SimInbound | SimInbound[],
    opts: { url?: string; signature?: SignatureMode; splitChanges?: boolean } = {},
  ): Promise<{ status: number; text: string; body: string; ids: string[] }> {
    const list = Array.isArray(specs) ? specs : [specs];
    const items = list.map((spec) => ({ phone: this.phoneOrThrow(spec.phoneNumberId), spec }));
    const payload = inboundPayload(items, this.now(), opts.splitChanges);
    const ids = (payload.entry as { changes: { value: { messages: { id: string }[] } }[] }[]).flatMap((e) =>
      e.changes.flatMap((c) => c.value.messages.map((m) => m.id)),
    );
    return { ...(await this.postSigned(payload, opts)), ids };
  }

  private phoneOrThrow(id: string | undefined): SimPhone {
    const p = id ? this.phones.find((x) => x.phoneNumberId === id) : this.phones[0];
    if (!p) throw new Error(`no simulated phone ${id}`);
    return p;
  }

  // ------------------------------------------------------------------ auth

  /** Bearer check: unknown → 401/190, expired → 401/190/463, someone else's object → 400/100/33. */
  private auth(req: SimRequest, owners: SimPhone[], objectId: string): SimResponse | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const token = m?.[1];
    if (!token || !this.phones.some((p) => p.accessToken === token)) {
      return graphError({
        status: 401,
        code: 190,
        message: 'Invalid OAuth access token - Cannot parse access token',
        details: '',
      });
    }
    if (this.expiredTokens.has(token)) {
      return graphError({
        status: 401,
        code: 190,
        subcode: 463,
        message: 'Error validating access token: Session has expired on Monday, 19-Jun-23 06:29:46 PDT.',
        details: '',
      });
    }
    if (!owners.some((p) => p.accessToken === token)) return graphError(unsupported(req.method, objectId));
    return undefined;
  }

  private guard(req: SimRequest, owners: SimPhone[]): SimResponse | undefined {
    if (!VERSION.test(req.params.version ?? '')) {
      return graphError({
        status: 400,
        code: 2500,
        message: `Unknown path components: /${req.params.version}`,
        details: '',
      });
    }
    return this.auth(req, owners, req.params.id ?? '');
  }

  // ------------------------------------------------------------------ messages

  private onMessages(req: SimRequest): SimResponse {
    const phone = this.phones.find((p) => p.phoneNumberId === req.params.id);
    const denied = this.guard(req, phone ? [phone] : []);
    if (denied || !phone) return denied ?? graphError(unsupported('POST', req.path));
    const b = req.json;
    if (!isRecord(b)) return graphError({ ...NOT_JSON_ERROR });
    if (b.status !== undefined) return this.onMarkRead(phone, b);
    const err = validateSendBody(b, {
      mediaKnown: (id) => this.media.get(id) !== undefined,
      template: (name, language) => this.templates.find(phone.wabaId, name, language),
    });
    if (err) return graphError(err);
    const recipient = {
      ...(b.recipient_type === 'group' ? { groupId: String(b.to) } : {}),
      ...(b.recipient_type !== 'group' && typeof b.to === 'string'
        ? { to: b.to.replace(/[^0-9]/g, '') }
        : {}),
      ...(typeof b.recipient === 'string' && !b.to ? { userId: b.recipient } : {}),
    };
    const key = recipient.groupId ?? recipient.to ?? recipient.userId ?? '';
    const now = this.now();
    const pair = this.opts.pairRateLimit;
    const pairKey = `${phone.phoneNumberId}\n${key}`;
    if (pair && this.perPair!.count(pairKey, now) >= pair.max) {
      return graphError({ ...PAIR_RATE_ERROR, status: pair.httpStatus ?? 400 });
    }
    const limit = this.throughput.get(phone.phoneNumberId) ?? this.opts.throughputPerSecond ?? 80;
    if (this.perSecond.count(phone.phoneNumberId, now) >= limit) {
      this.throttled += 1;
      const ra = this.opts.throughputRetryAfterSeconds;
      return graphError(THROUGHPUT_ERROR, ra === undefined ? undefined : { 'retry-after': String(ra) });
    }
    this.perSecond.add(phone.phoneNumberId, now);
    this.perPair?.add(pairKey, now);
    const wamid = newWamid(key);
    const type = typeof b.type === 'string' ? b.type : 'text';
    this.sent.push({ phoneNumberId: phone.phoneNumberId, wamid, type, recipient, body: b, at: now });
    this.scheduleStatuses(
      phone,
      {
        wamid,
        recipient,
        bizOpaque: typeof b.biz_opaque_callback_data === 'string' ? b.biz_opaque_callback_data : undefined,
      },
      key,
    );
    const contact = recipient.userId
      ? { input: recipient.userId, user_id: recipient.userId }
      : { input: String(b.to), ...(recipient.to ? { wa_id: recipient.to } : {}) };
    const message: Record<string, unknown> = { id: wamid };
    if (type === 'template') message.message_status = 'accepted';
    return {
      status: 200,
      json: { messaging_product: 'whatsapp', contacts: [contact], messages: [message] },
      headers: usageHeader(phone),
    };
  }

  private onMarkRead(phone: SimPhone, b: Record<string, unknown>): SimResponse {
    const err = validateMarkRead(b);
    if (err) return graphError(err);
    const typing = b.typing_indicator !== undefined;
    this.reads.push({
      phoneNumberId: phone.phoneNumberId,
      messageId: String(b.message_id),
      typing,
      at: this.now(),
    });
    return { status: 200, json: { success: true } };
  }

  private scheduleStatuses(phone: SimPhone, s: Omit<StatusSpec, 'status' | 'timestamp'>, key: string): void {
    if (!this.webhookUrl) return;
    const failure = this.asyncFailures.get(key);
    const steps: StatusSpec['status'][] =
      failure !== undefined ? ['failed'] : this.statusWebhooks ? ['sent', 'delivered', 'read'] : [];
    const extra = failure !== undefined ? { errorCode: failure } : {};
    this.sender.sequence(
      steps.map(
        (status) => () =>
          statusPayload(phone, { ...s, status, timestamp: Math.floor(this.now() / 1000), ...extra }),
      ),
      this.statusDelayMs,
    );
  }

  // ------------------------------------------------------------------ media, templates, objects

  private async onUpload(req: SimRequest): Promise<SimResponse> {
    const phone = this.phones.find((p) => p.phoneNumberId === req.params.id);
    const denied = this.guard(req, phone ? [phone] : []);
    if (denied || !phone) return denied ?? graphError(unsupported('POST', req.path));
    const res = await this.media.upload(req, phone.phoneNumberId);
    return 'error' in res ? graphError(res.error) : { status: 200, json: { id: res.id } };
  }

  private onGetObject(req: SimRequest): SimResponse {
    const id = req.params.id ?? '';
    const phone = this.phones.find((p) => p.phoneNumberId === id);
    const file = this.media.get(id);
    const owner = phone ?? this.phones.find((p) => p.phoneNumberId === file?.phoneNumberId);
    const denied = this.guard(req, owner ? [owner] : []);
    if (denied) return denied;
    if (phone) {
      const all: Record<string, unknown> = {
        verified_name: phone.verifiedName,
        code_verification_status: 'VERIFIED',
        display_phone_number: phone.displayPhoneNumber,
        quality_rating: 'GREEN',
        platform_type: 'CLOUD_API',
        throughput: { level: 'STANDARD' },
        id: phone.phoneNumberId,
      };
      const fields = req.query.fields?.split(',').map((f) => f.trim());
      return {
        status: 200,
        json: fields
          ? Object.fromEntries(Object.entries(all).filter(([k]) => k === 'id' || fields.includes(k)))
          : all,
      };
    }
    if (file && (!req.query.phone_number_id || req.query.phone_number_id === file.phoneNumberId)) {
      return { status: 200, json: this.media.describe(id) };
    }
    return graphError(unsupported('GET', id));
  }

  private onDeleteMedia(req: SimRequest): SimResponse {
    const file = this.media.get(req.params.id ?? '');
    const owner = this.phones.find((p) => p.phoneNumberId === file?.phoneNumberId);
    const denied = this.guard(req, owner ? [owner] : []);
    if (denied) return denied;
    this.media.delete(req.params.id ?? '');
    return { status: 200, json: { success: true } };
  }

  private onDownload(req: SimRequest): SimResponse {
    const file = this.media.fromUrl(req.query);
    const owner = this.phones.find((p) => p.phoneNumberId === file?.phoneNumberId);
    // A forged or expired URL is a plain CDN 404 for any valid token; a file is only served to its owner.
    const denied = this.auth(req, owner ? [owner] : this.phones, req.query.mid ?? '');
    if (denied) return denied;
    if (!file) return { status: 404, body: 'Not Found' };
    return {
      status: 200,
      body: file.data,
      headers: { 'content-type': file.mimeType, 'content-length': String(file.data.length) },
    };
  }

  private onTemplates(req: SimRequest): SimResponse {
    const denied = this.guard(
      req,
      this.phones.filter((p) => p.wabaId === req.params.id),
    );
    return denied ?? this.templates.page(req, this.url);
  }
}

export function createCloudApiSimulator(opts: CloudApiSimOptions = {}): CloudApiSimulator {
  return new CloudApiSimulator(opts);
}
