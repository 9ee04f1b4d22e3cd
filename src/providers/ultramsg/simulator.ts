import { randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import { SimServer, postWebhook, type SimRequest, type SimResponse } from '../simulator-kit.js';
import { normalizeInstanceId } from './credentials.js';
import { chatIdOf, validateSend } from './simulator-rules.js';

/**
 * A faithful fake of api.ultramsg.com for tests and local development: `/{instanceId}/…` routes,
 * errors as HTTP 200 + `error` (like the real service), 404 for unknown instances, required-field
 * validation in UltraMsg's array shape, a not-connected mode, and webhooks: `message_create` and
 * `message_ack` (server → device → read) after each send, `message_received` via `sendInbound`.
 *
 * Order and ids of a send's webhooks (docs/providers/ultramsg.md, decision 045): UltraMsg's phone
 * creates the message while the API call is still being answered, so `message_create` (fromMe,
 * top-level `id` = queue id, `referenceId` = the caller's) is posted and answered BEFORE the send
 * is answered — the echo always wins the race here, the order that used to duplicate sends. Acks
 * name the message by `referenceId` with an empty `id` (`ackIds: 'reference'`, the default);
 * `'queue'` also fills `id`, `'none'` leaves both empty like `webhook_message_ack_derived.json`.
 */

export type SimAccountStatus = 'authenticated' | 'qr' | 'standby' | 'loading' | 'disconnected';

export interface UltramsgSimInstanceInit {
  instanceId: string;
  token: string;
  status?: SimAccountStatus;
  /** Account suspended for non-payment: every call answers the "Stopped" error. */
  stopped?: boolean;
  /** The paired phone's number (digits). */
  phone?: string;
}

interface SimInstance {
  id: string; // instance<digits>
  digits: string;
  token: string;
  status: SimAccountStatus;
  stopped: boolean;
  phone: string;
  settings: Record<string, string>;
}

export interface UltramsgSimOptions {
  instances: UltramsgSimInstanceInit[];
  /** Default webhook URL for every instance (instance/settings overrides it). */
  webhookUrl?: string;
  /** Delays after a send before each ack webhook, cumulative from the send. */
  ackDelaysMs?: { server: number; device: number; read: number };
  /** Top-level ids of `message_ack` webhooks (see the header). Default `'reference'`. */
  ackIds?: 'reference' | 'queue' | 'none';
}

export interface SimWebhookPost {
  url: string;
  body: string;
  status: number | 'error';
}

const NOT_FOUND: SimResponse = { status: 404, json: { error: 'Instance not found' } };
const WRONG_TOKEN: SimResponse = { status: 200, json: { error: 'Wrong token. Please provide token as a GET parameter.' } };
const STOPPED: SimResponse = {
  status: 200,
  json: { error: 'Your instance has been Stopped due to non-payment. you can activate this instance by extending your subscription. Payment information updates every 5 minutes.' },
};
const NOT_CONNECTED: SimResponse = { status: 200, json: { sent: 'false', message: 'WhatsApp not connected' } };

export function createUltramsgSimulator(opts: UltramsgSimOptions) {
  const instances = new Map<string, SimInstance>();
  for (const i of opts.instances) {
    const id = normalizeInstanceId(i.instanceId);
    if (!id) throw new Error(`bad instance id ${i.instanceId}`);
    const settings: Record<string, string> = opts.webhookUrl
      ? { webhook_url: opts.webhookUrl, webhook_message_received: 'true', webhook_message_create: 'false', webhook_message_ack: 'true' }
      : {};
    instances.set(id, { id, digits: id.slice(8), token: i.token, status: i.status ?? 'authenticated', stopped: i.stopped ?? false, phone: i.phone ?? '15550001111', settings });
  }
  const delays = opts.ackDelaysMs ?? { server: 20, device: 40, read: 60 };
  const ackIds = opts.ackIds ?? 'reference';
  /** While set, send answers wait for it (after the echo was posted): see `holdSends`. */
  let hold: { wait: Promise<void>; release: () => void } | undefined;
  const timers = new Set<NodeJS.Timeout>();
  const webhooks: SimWebhookPost[] = [];
  const inflight = new Set<Promise<unknown>>();
  let nextQueueId = 44897;

  function emit(inst: SimInstance, event: string, envelope: Record<string, unknown>): Promise<SimWebhookPost | undefined> {
    const url = inst.settings.webhook_url;
    if (!url || inst.settings[`webhook_${event}`] !== 'true') return Promise.resolve(undefined);
    const body = JSON.stringify({ event_type: event, instanceId: inst.digits, ...envelope });
    const p = postWebhook(url, body, {}).then(
      (r) => ({ url, body, status: r.status }),
      () => ({ url, body, status: 'error' as const }),
    ).then((rec) => {
      webhooks.push(rec);
      return rec;
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    return p;
  }

  function later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  }

  /** Finds the instance and checks the token: the answers UltraMsg gives before doing anything. */
  function gate(req: SimRequest): SimInstance | SimResponse {
    const inst = instances.get(normalizeInstanceId(req.params.instance) ?? '');
    if (!inst || !/^instance\d+$/.test(req.params.instance ?? '')) return NOT_FOUND;
    const token = req.form?.token ?? (req.json as { token?: unknown } | undefined)?.token ?? req.query.token;
    if (token !== inst.token) return WRONG_TOKEN;
    if (inst.stopped) return STOPPED;
    return inst;
  }

  function fieldsOf(req: SimRequest): Record<string, string> {
    if (req.form) return req.form;
    if (req.json && typeof req.json === 'object') {
      return Object.fromEntries(Object.entries(req.json as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    }
    return { ...req.query };
  }

  async function send(req: SimRequest): Promise<SimResponse> {
    const inst = gate(req);
    if (!('id' in inst)) return inst;
    const kind = req.params.kind ?? '';
    const f = fieldsOf(req);
    const errors = validateSend(kind, f);
    if (errors.length === 1 && 'endpoint' in errors[0]!) return { status: 404, json: { error: 'not found' } };
    if (errors.length) return { status: 200, json: { error: errors } };
    if (inst.status !== 'authenticated') return NOT_CONNECTED;
    const queueId = nextQueueId++;
    const chat = kind === 'reaction' ? '' : chatIdOf(f.to!)!;
    const base = {
      id: String(queueId),
      referenceId: f.referenceId ?? '',
      hash: randomBytes(16).toString('hex'),
    };
    const data = {
      id: `true_${chat}_${randomBytes(10).toString('hex').toUpperCase()}`,
      from: `${inst.phone}@c.us`,
      to: chat,
      author: '',
      pushname: '',
      ack: 'pending',
      type: kind === 'voice' ? 'ptt' : kind === 'vcard' || kind === 'contact' ? 'vcard' : kind,
      body: f.body ?? f.caption ?? '',
      media: f.image ?? f.video ?? f.audio ?? f.document ?? f.sticker ?? '',
      fromMe: true,
      self: false,
      isForwarded: false,
      isMentioned: false,
      quotedMsg: f.msgId ? { id: f.msgId } : {},
      mentionedIds: [],
      time: Math.floor(Date.now() / 1000),
    };
    // Each webhook is posted only after the previous one was answered, so they never arrive out of
    // order; the echo is answered before the send is (see the header).
    const created = emit(inst, 'message_create', { ...base, data });
    let chain: Promise<unknown> = created;
    const ackBase = ackIds === 'queue' ? base : { ...base, id: '', referenceId: ackIds === 'reference' ? base.referenceId : '' };
    const acks: [keyof typeof delays, string][] = [['server', 'server'], ['device', 'device'], ['read', 'read']];
    for (const [key, ack] of acks) {
      later(delays[key], () => {
        chain = chain.then(() => emit(inst, 'message_ack', { ...ackBase, data: { ...data, ack } }));
      });
    }
    // At most 2 s: a webhook receiver that hangs must not hang the API as well.
    await Promise.race([created, new Promise((r) => setTimeout(r, 2000).unref())]);
    if (hold) await hold.wait;
    return { status: 200, json: { sent: 'true', message: 'ok', id: queueId } };
  }

  async function instanceGet(req: SimRequest): Promise<SimResponse> {
    const inst = gate(req);
    if (!('id' in inst)) return inst;
    switch (req.params.op) {
      case 'status':
        return { status: 200, json: { status: { accountStatus: { status: inst.status, substatus: inst.status === 'authenticated' ? 'connected' : 'normal' } } } };
      case 'qr':
        if (inst.status !== 'qr') return { status: 200, json: { error: `instance status is ${inst.status}, no QR code` } };
        return { status: 200, body: await QRCode.toBuffer(`2@sim-${inst.id}`), headers: { 'content-type': 'image/png' } };
      case 'qrCode':
        if (inst.status !== 'qr') return { status: 200, json: { error: `instance status is ${inst.status}, no QR code` } };
        return { status: 200, json: { qrCode: `2@sim-${inst.id}` } };
      case 'me':
        if (inst.status !== 'authenticated') return { status: 200, json: { error: 'WhatsApp not connected' } };
        return { status: 200, json: { id: `${inst.phone}@c.us`, name: 'Simulated line', is_business: false } };
      case 'settings':
        return { status: 200, json: { ...inst.settings } };
      default:
        return { status: 404, json: { error: 'not found' } };
    }
  }

  function instancePost(req: SimRequest): SimResponse {
    const inst = gate(req);
    if (!('id' in inst)) return inst;
    const f = fieldsOf(req);
    switch (req.params.op) {
      case 'logout':
        if (inst.status !== 'authenticated') return { status: 200, json: { error: 'WhatsApp not connected' } };
        inst.status = 'qr';
        return { status: 200, json: { success: 'instance logout successfully' } };
      case 'restart':
        // A restart reloads the session; a paired phone stays paired, an unpaired one shows a QR.
        inst.status = inst.status === 'authenticated' ? 'authenticated' : 'qr';
        return { status: 200, json: { success: 'instance restarted' } };
      case 'settings': {
        for (const [k, v] of Object.entries(f)) {
          if (k === 'token') continue;
          if (k.startsWith('webhook_message_') && v !== 'true' && v !== 'false') return { status: 200, json: { error: [{ [k]: 'must be true or false' }] } };
          if (k === 'webhook_url' && v !== '' && !/^https?:\/\//.test(v)) return { status: 200, json: { error: [{ webhook_url: 'invalid url' }] } };
          inst.settings[k] = v;
        }
        return { status: 200, json: { success: 'settings updated' } };
      }
      default:
        return { status: 404, json: { error: 'not found' } };
    }
  }

  function chatsRead(req: SimRequest): SimResponse {
    const inst = gate(req);
    if (!('id' in inst)) return inst;
    const f = fieldsOf(req);
    if (!f.chatId) return { status: 200, json: { error: [{ chatId: 'is required' }] } };
    if (inst.status !== 'authenticated') return { status: 200, json: { error: 'WhatsApp not connected' } };
    return { status: 200, json: { status: 'ok' } };
  }

  const server = new SimServer(
    [
      { method: 'POST', path: '/:instance/messages/:kind', handler: send },
      { method: 'GET', path: '/:instance/instance/:op', handler: instanceGet },
      { method: 'POST', path: '/:instance/instance/:op', handler: instancePost },
      { method: 'POST', path: '/:instance/chats/read', handler: chatsRead },
    ],
    () => NOT_FOUND,
  );

  function must(id: string): SimInstance {
    const inst = instances.get(normalizeInstanceId(id) ?? '');
    if (!inst) throw new Error(`no simulated instance ${id}`);
    return inst;
  }

  return {
    server,
    listen: (port?: number) => server.listen(port),
    get url() {
      return server.url;
    },
    async close() {
      hold?.release();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.allSettled([...inflight]);
      await server.close();
    },
    /** Every webhook the simulator posted, in order. */
    webhooks,
    /** Resolves when no ack timer is pending and every webhook post has been answered. */
    async idle(): Promise<void> {
      while (timers.size > 0 || inflight.size > 0) await new Promise((r) => setTimeout(r, 5));
    },
    instance: (id: string): Readonly<SimInstance> => must(id),
    setStatus(id: string, status: SimAccountStatus) {
      must(id).status = status;
    },
    setStopped(id: string, stopped: boolean) {
      must(id).stopped = stopped;
    },
    /**
     * Until the returned function is called, send answers are held back (the echo webhook is still
     * posted first): UltraMsg answering slower than its phone reports the message.
     */
    holdSends(): () => void {
      let release!: () => void;
      const h = { wait: new Promise<void>((r) => (release = r)), release: () => release() };
      hold = h;
      return () => {
        if (hold === h) hold = undefined;
        h.release();
      };
    },
    /** A contact writes to the line: posts a `message_received` webhook like UltraMsg does. */
    async sendInbound(
      id: string,
      msg: { from: string; body?: string; type?: string; author?: string; pushname?: string; media?: string; extra?: Record<string, unknown> },
    ): Promise<{ envelope: Record<string, unknown>; post: SimWebhookPost | undefined }> {
      const inst = must(id);
      const from = chatIdOf(msg.from) ?? msg.from;
      const data = {
        id: `false_${from}_${randomBytes(10).toString('hex').toUpperCase()}`,
        from,
        to: `${inst.phone}@c.us`,
        author: msg.author ? (chatIdOf(msg.author) ?? msg.author) : '',
        pushname: msg.pushname ?? '',
        ack: '',
        type: msg.type ?? 'chat',
        body: msg.body ?? '',
        media: msg.media ?? '',
        fromMe: false,
        isForwarded: false,
        isMentioned: false,
        quotedMsg: {},
        mentionedIds: [],
        time: Math.floor(Date.now() / 1000),
        ...msg.extra,
      };
      const envelope = { id: '', referenceId: '', data };
      const post = await emit(inst, 'message_received', envelope);
      return { envelope: { event_type: 'message_received', instanceId: inst.digits, ...envelope }, post };
    },
  };
}

export type UltramsgSimulator = ReturnType<typeof createUltramsgSimulator>;
