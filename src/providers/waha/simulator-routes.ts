import { randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import { isRecord } from '../http.js';
import type { SimRequest, SimResponse, SimRoute } from '../simulator-kit.js';
import { parseSerializedId } from './ids.js';
import { ackEvent, buildOutbound, type OutboundSpec } from './simulator-messages.js';
import { newBareId, type SimSession, type WahaModel } from './simulator-model.js';
import { Check, badRequest, notFound, statusNotExpected, unprocessable, UNAUTHORIZED } from './simulator-validate.js';

/** HTTP surface of the fake WAHA server (paths and answers per WAHA OpenAPI 2026.7.1). */

export interface RouteOptions {
  apiKey: string;
  autoAck: boolean;
  ackDelayMs: number;
  /** WAHA Core before 2026.6.1 only allowed the session named `default`. */
  onlyDefaultSession: boolean;
  /** Chats whose messages fail (ack -1 ERROR) instead of SERVER → DEVICE → READ. */
  failingChats: Set<string>;
}

const body = (req: SimRequest): Record<string, unknown> => (isRecord(req.json) ? req.json : {});

export function wahaRoutes(model: WahaModel, o: RouteOptions): SimRoute[] {
  const engine = model.opts.engine;
  /** API key from `X-Api-Key` or `?x-api-key=`, on every route (WAHA_API_KEY set, no exclusions). */
  const auth = (h: (req: SimRequest) => SimResponse | Promise<SimResponse>) => (req: SimRequest) =>
    (req.headers['x-api-key'] ?? req.query['x-api-key']) === o.apiKey ? h(req) : UNAUTHORIZED;
  const dto = (s: SimSession) => ({ name: s.name, status: s.status, config: s.config, engine: { engine } });
  const info = (s: SimSession) => ({ ...dto(s), me: model.me(s), presence: null, timestamps: { activity: null } });
  const find = (name: unknown): SimSession | undefined => (typeof name === 'string' ? model.sessions.get(name) : undefined);
  const SESSION_404 = notFound('Session not found');
  /** Session that must be WORKING, or the answer explaining why not. */
  const working = (name: unknown): SimSession | SimResponse => {
    const s = find(name);
    if (!s) return SESSION_404;
    return s.status === 'WORKING' && s.paired ? s : statusNotExpected(s.name, s.status, ['WORKING']);
  };
  const isResponse = (x: SimSession | SimResponse): x is SimResponse => 'status' in x && typeof x.status === 'number';

  const sessionAction = (op: 'start' | 'stop' | 'restart' | 'logout'): SimRoute => ({
    method: 'POST',
    path: `/api/sessions/:session/${op}`,
    handler: auth((req) => {
      const s = find(req.params.session);
      if (!s) return SESSION_404;
      if (op === 'stop') model.stop(s);
      if (op === 'start') model.start(s);
      if (op === 'restart') {
        model.stop(s);
        model.start(s);
      }
      if (op === 'logout') {
        s.paired = null;
        if (s.status !== 'STOPPED') {
          model.stop(s);
          model.start(s);
        }
      }
      return { status: 201, json: dto(s) };
    }),
  });

  /** A send endpoint: validate like NestJS, then 404 unknown session, 422 not WORKING, 201 engine answer. */
  const send = (path: string, validate: (c: Check) => Check, spec: (b: Record<string, unknown>) => Omit<OutboundSpec, 'chatId' | 'me'>): SimRoute => ({
    method: 'POST',
    path,
    handler: auth((req) => {
      const b = body(req);
      const bad = validate(new Check(b).string('session').chatId().string('reply_to', { optional: true })).result();
      if (bad) return bad;
      const s = working(b.session);
      if (isResponse(s)) return s;
      const chatId = b.chatId as string;
      const out = buildOutbound(engine, { chatId, me: s.paired!, ...spec(b), ...(typeof b.reply_to === 'string' ? { replyTo: b.reply_to } : {}) });
      model.record(s, chatId, out.wa);
      model.emit(s, 'message.any', out.wa);
      if (o.autoAck) progressAcks(s, out.wa, o.failingChats.has(chatId) ? [-1] : [1, 2, 3]);
      return { status: 201, json: out.answer };
    }),
  });

  const progressAcks = (s: SimSession, msg: Record<string, unknown>, seq: number[]): void => {
    let i = 0;
    const step = (): void => {
      const ack = seq[i++]!;
      msg.ack = ack;
      const { event, payload } = ackEvent(msg, ack);
      model.emit(s, event, payload);
      if (i < seq.length) model.later(o.ackDelayMs, step);
    };
    model.later(o.ackDelayMs, step);
  };

  const file = (b: Record<string, unknown>) => (isRecord(b.file) ? (b.file as { url?: string; mimetype: string; filename?: string }) : undefined);
  const media = (b: Record<string, unknown>) => {
    const f = file(b);
    return f ? { media: { url: f.url ?? 'data:', mimetype: f.mimetype, ...(f.filename ? { filename: f.filename } : {}) } } : {};
  };
  const caption = (b: Record<string, unknown>) => (typeof b.caption === 'string' ? b.caption : '');

  return [
    { method: 'GET', path: '/ping', handler: auth(() => ({ status: 200, json: { message: 'pong' } })) },
    { method: 'GET', path: '/api/server/version', handler: auth(() => ({ status: 200, json: { version: model.opts.version, engine, tier: 'CORE' } })) },
    {
      method: 'GET',
      path: '/api/sessions',
      handler: auth((req) => ({ status: 200, json: [...model.sessions.values()].filter((s) => req.query.all === 'true' || s.status !== 'STOPPED').map(info) })),
    },
    {
      method: 'POST',
      path: '/api/sessions',
      handler: auth((req) => {
        const b = body(req);
        const bad = new Check(b).string('name', { optional: true, nonEmpty: true }).boolean('start').webhooks().result();
        if (bad) return bad;
        const name = typeof b.name === 'string' ? b.name : `session_${randomBytes(8).toString('hex')}`;
        if (name.includes('/')) return badRequest(['name must not contain "/"']);
        if (o.onlyDefaultSession && name !== 'default') {
          return unprocessable("WAHA Core support only 'default' session. If you want to run more then one WhatsApp account - please get WAHA PLUS version.");
        }
        if (model.sessions.has(name)) return unprocessable(`Session '${name}' already exists. Use PUT to update it.`);
        const s = model.newSession(name, isRecord(b.config) ? b.config : {});
        if (b.start !== false) model.start(s);
        return { status: 201, json: { ...dto(s), me: null } };
      }),
    },
    sessionAction('start'),
    sessionAction('stop'),
    sessionAction('restart'),
    sessionAction('logout'),
    {
      method: 'GET',
      path: '/api/sessions/:session/me',
      handler: auth((req) => {
        const s = find(req.params.session);
        return s ? { status: 200, json: model.me(s) } : SESSION_404;
      }),
    },
    {
      method: 'GET',
      path: '/api/sessions/:session',
      handler: auth((req) => {
        const s = find(req.params.session);
        return s ? { status: 200, json: info(s) } : SESSION_404;
      }),
    },
    {
      method: 'PUT',
      path: '/api/sessions/:session',
      handler: auth((req) => {
        const b = body(req);
        const bad = new Check(b).webhooks().result();
        if (bad) return bad;
        const s = find(req.params.session);
        if (!s) return SESSION_404;
        s.config = isRecord(b.config) ? b.config : {};
        // WAHA restarts a running session to apply the new config.
        if (s.status !== 'STOPPED') {
          model.stop(s);
          model.start(s);
        }
        return { status: 200, json: dto(s) };
      }),
    },
    {
      method: 'DELETE',
      path: '/api/sessions/:session',
      handler: auth((req) => {
        const s = find(req.params.session);
        if (s) {
          model.stop(s);
          model.sessions.delete(s.name);
        }
        return { status: 200, body: '' };
      }),
    },
    {
      method: 'GET',
      path: '/api/:session/auth/qr',
      handler: auth(async (req) => {
        const format = req.query.format ?? 'image';
        if (format !== 'image' && format !== 'raw') return badRequest(['format must be one of the following values: image, raw']);
        const s = find(req.params.session);
        if (!s) return SESSION_404;
        if (s.status !== 'SCAN_QR_CODE' || !s.qr) return statusNotExpected(s.name, s.status, ['SCAN_QR_CODE']);
        if (format === 'raw') return { status: 200, json: { value: s.qr } };
        const png = await QRCode.toBuffer(s.qr, { type: 'png', errorCorrectionLevel: 'L' });
        if ((req.headers.accept ?? '').includes('application/json')) return { status: 200, json: { mimetype: 'image/png', data: png.toString('base64') } };
        return { status: 200, body: png, headers: { 'content-type': 'image/png' } };
      }),
    },
    send('/api/sendText', (c) => c.string('text').boolean('linkPreview'), (b) => ({ type: 'chat', body: b.text as string })),
    send('/api/sendImage', (c) => c.file().string('caption', { optional: true }), (b) => ({ type: 'image', body: caption(b), ...media(b) })),
    send('/api/sendFile', (c) => c.file().string('caption', { optional: true }), (b) => ({ type: 'document', body: caption(b), ...media(b) })),
    // `convert` is required by WAHA's OpenAPI (MessageVideoRequest, MessageVoiceRequest).
    send('/api/sendVideo', (c) => c.file('file', { filenameRequired: true }).boolean('convert', false).boolean('asNote'), (b) => ({ type: 'video', body: caption(b), ...media(b) })),
    send('/api/sendVoice', (c) => c.file().boolean('convert', false), (b) => ({ type: 'ptt', body: '', ...media(b) })),
    send('/api/sendLocation', (c) => c.number('latitude').number('longitude').string('title'), (b) => ({ type: 'location', body: String(b.title) })),
    send('/api/sendContactVcard', (c) => c.contacts(), () => ({ type: 'vcard', body: '' })),
    send('/api/sendList', (c) => c.list(), (b) => ({ type: 'list', body: isRecord(b.message) ? String(b.message.description ?? '') : '' })),
    {
      method: 'POST',
      path: '/api/sendSeen',
      handler: auth((req) => {
        const b = body(req);
        const c = new Check(b).string('session').chatId().string('participant', { optional: true });
        if (b.messageIds !== undefined && (!Array.isArray(b.messageIds) || !b.messageIds.every((x) => typeof x === 'string'))) c.errors.push('each value in messageIds must be a string');
        const bad = c.result();
        if (bad) return bad;
        const s = working(b.session);
        return isResponse(s) ? s : { status: 201, json: {} };
      }),
    },
    {
      method: 'PUT',
      path: '/api/reaction',
      handler: auth((req) => {
        const b = body(req);
        const c = new Check(b).string('session').string('messageId', { nonEmpty: true }).string('reaction');
        const target = typeof b.messageId === 'string' ? parseSerializedId(b.messageId) : undefined;
        if (typeof b.messageId === 'string' && b.messageId && !target) c.errors.push('messageId must be a message id like false_11111111111@c.us_AAAAAAAAAAAAAAAAAAAA');
        const bad = c.result();
        if (bad) return bad;
        const s = working(b.session);
        if (isResponse(s)) return s;
        const bare = newBareId();
        const reaction = { text: b.reaction as string, messageId: b.messageId as string };
        model.emit(s, 'message.reaction', { id: `true_${target!.chat}_${bare}`, timestamp: Math.floor(Date.now() / 1000), from: s.paired!.id, fromMe: true, source: 'api', to: target!.chat, participant: null, reaction });
        // WEBJS `message.react()` resolves to nothing: the answer has no body. NOWEB returns the Baileys message.
        if (engine === 'WEBJS') return { status: 200, body: '' };
        const key = { remoteJid: target!.chat.replace(/@c\.us$/, '@s.whatsapp.net'), fromMe: true, id: bare };
        return { status: 200, json: { key, message: { reactionMessage: { key: { remoteJid: key.remoteJid, fromMe: target!.fromMe, id: target!.id }, text: reaction.text } }, status: 'PENDING' } };
      }),
    },
    ...readRoutes(model, auth, working, isResponse),
  ];
}

type Auth = (h: (req: SimRequest) => SimResponse | Promise<SimResponse>) => (req: SimRequest) => SimResponse | Promise<SimResponse>;

function readRoutes(model: WahaModel, auth: Auth, working: (n: unknown) => SimSession | SimResponse, isResponse: (x: SimSession | SimResponse) => x is SimResponse): SimRoute[] {
  const engine = model.opts.engine;
  const page = <T>(list: T[], q: Record<string, string>): T[] => {
    const offset = Number(q.offset ?? 0) || 0;
    const limit = q.limit !== undefined ? Number(q.limit) || 0 : list.length;
    return list.slice(offset, offset + limit);
  };
  return [
    {
      method: 'GET',
      path: '/api/:session/chats',
      handler: auth((req) => {
        const s = working(req.params.session);
        if (isResponse(s)) return s;
        const chats = [...s.history.entries()].map(([id, msgs]) => {
          const ts = Number(msgs[msgs.length - 1]?.timestamp ?? 0);
          const name = s.contacts.get(id)?.name ?? s.groups.get(id)?.subject ?? null;
          // WEBJS nests ids as {server, user, _serialized}; NOWEB uses plain strings.
          return engine === 'WEBJS'
            ? { id: { server: id.split('@')[1], user: id.split('@')[0], _serialized: id }, name, timestamp: ts, unreadCount: 0, isGroup: id.endsWith('@g.us') }
            : { id, name, conversationTimestamp: ts, unreadCount: 0 };
        });
        return { status: 200, json: page(chats, req.query) };
      }),
    },
    {
      method: 'GET',
      path: '/api/:session/chats/:chatId/messages',
      handler: auth((req) => {
        const s = working(req.params.session);
        if (isResponse(s)) return s;
        const msgs = [...(s.history.get(req.params.chatId ?? '') ?? [])].reverse();
        return { status: 200, json: page(msgs, { limit: req.query.limit ?? '10', ...(req.query.offset ? { offset: req.query.offset } : {}) }) };
      }),
    },
    {
      method: 'GET',
      path: '/api/contacts/all',
      handler: auth((req) => {
        if (typeof req.query.session !== 'string') return badRequest(['session must be a string']);
        const s = working(req.query.session);
        if (isResponse(s)) return s;
        return { status: 200, json: page([...s.contacts.values()].map((c) => ({ id: c.id, number: c.id.split('@')[0], name: c.name ?? null, pushname: c.pushname ?? null, isMyContact: !!c.name })), req.query) };
      }),
    },
    {
      method: 'GET',
      path: '/api/contacts/check-exists',
      handler: auth((req) => {
        const errors = [typeof req.query.session !== 'string' ? 'session must be a string' : '', typeof req.query.phone !== 'string' || !/^\d{5,20}$/.test(req.query.phone) ? 'phone must be a number string' : ''].filter(Boolean);
        if (errors.length) return badRequest(errors);
        const s = working(req.query.session);
        if (isResponse(s)) return s;
        // Numbers starting 000 stand for "not on WhatsApp" in the simulator.
        const phone = req.query.phone!;
        return { status: 200, json: phone.startsWith('000') ? { numberExists: false } : { numberExists: true, chatId: `${phone}@c.us` } };
      }),
    },
    {
      method: 'GET',
      path: '/api/:session/groups',
      handler: auth((req) => {
        const s = working(req.params.session);
        if (isResponse(s)) return s;
        const groups = page([...s.groups.values()], req.query);
        // NOWEB answers an object keyed by group id; WEBJS a list of group infos.
        if (engine === 'NOWEB') return { status: 200, json: Object.fromEntries(groups.map((g) => [g.id, { id: g.id, subject: g.subject, participants: g.participants.map((p) => ({ id: p, admin: null })) }])) };
        return { status: 200, json: groups.map((g) => ({ id: g.id, subject: g.subject, participants: g.participants.map((p) => ({ id: p, role: 'participant' })) })) };
      }),
    },
    {
      method: 'GET',
      path: '/api/files/:session/:file',
      handler: auth((req) => {
        const f = model.sessions.get(req.params.session ?? '')?.files.get(req.params.file ?? '');
        if (!f) return { status: 404, json: { error: { code: 404, key: 'FILE_NOT_FOUND', message: 'File not found', details: `File '${req.params.file}' not found` } } };
        return { status: 200, body: f.data, headers: { 'content-type': f.mimetype } };
      }),
    },
  ];
}
