import { isRecord } from '../http.js';
import { ACK_NAME, newBareId, type SimMe, type WahaEngine } from './simulator-model.js';

/**
 * Message shapes of the fake WAHA server: the engine-specific answer of send endpoints (WEBJS
 * whatsapp-web.js Message vs NOWEB Baileys WebMessageInfo — WAHA passes the engine's object through,
 * devlikeapro/waha#760) and the engine-independent `WAMessage` of webhooks and history.
 */

export interface OutboundSpec {
  chatId: string;
  me: SimMe;
  /** WEBJS `_data.type`: chat, image, video, ptt, document, location, vcard, list, reaction. */
  type: string;
  body: string;
  media?: { url: string; mimetype: string; filename?: string };
  replyTo?: string;
}

export interface BuiltOutbound {
  /** WAMessage as webhooks (`message.any`) and chat history show it. */
  wa: Record<string, unknown>;
  /** What the send endpoint answers, in the engine's own shape. */
  answer: Record<string, unknown>;
}

const toBaileysJid = (chatId: string): string => chatId.replace(/@c\.us$/, '@s.whatsapp.net');

const NOWEB_KIND: Record<string, string> = {
  image: 'imageMessage',
  video: 'videoMessage',
  ptt: 'audioMessage',
  document: 'documentMessage',
  location: 'locationMessage',
  vcard: 'contactsArrayMessage',
  list: 'listMessage',
  reaction: 'reactionMessage',
};

export function buildOutbound(engine: WahaEngine, spec: OutboundSpec): BuiltOutbound {
  const bare = newBareId();
  const ts = Math.floor(Date.now() / 1000);
  const serialized = `true_${spec.chatId}_${bare}`;
  const wa: Record<string, unknown> = {
    id: serialized,
    timestamp: ts,
    from: spec.me.id,
    fromMe: true,
    source: 'api',
    to: spec.chatId,
    participant: null,
    body: spec.body,
    hasMedia: !!spec.media,
    media: spec.media ? { url: spec.media.url, mimetype: spec.media.mimetype, filename: spec.media.filename ?? null, error: null } : null,
    ack: 0,
    ackName: ACK_NAME[0],
    location: null,
    vCards: [],
    replyTo: spec.replyTo ? { id: spec.replyTo.split('_')[2] ?? spec.replyTo, body: null, hasMedia: false } : null,
    _data: {},
  };
  if (engine === 'WEBJS') {
    const idObj = { fromMe: true, remote: spec.chatId, id: bare, _serialized: serialized };
    const data = { id: idObj, body: spec.body, type: spec.type, t: ts, from: spec.me.id, to: spec.chatId, ack: 0, isNewMsg: true };
    wa._data = data;
    return {
      wa,
      answer: { _data: data, id: idObj, ack: 0, hasMedia: !!spec.media, body: spec.body, type: spec.type, timestamp: ts, from: spec.me.id, to: spec.chatId, fromMe: true, deviceType: 'web', hasQuotedMsg: !!spec.replyTo },
    };
  }
  const key = { remoteJid: toBaileysJid(spec.chatId), fromMe: true, id: bare };
  const kind = NOWEB_KIND[spec.type];
  const message = kind ? { [kind]: { caption: spec.body || undefined, mimetype: spec.media?.mimetype } } : { extendedTextMessage: { text: spec.body } };
  wa._data = { key, message, messageTimestamp: ts, status: 'PENDING' };
  return { wa, answer: { key, message, messageTimestamp: String(ts), status: 'PENDING' } };
}

export interface InboundSpec {
  /** Chat id or phone (`+3161…`, `3161…@c.us`, `1203…@g.us`). */
  from: string;
  text?: string;
  /** Group sender (often `…@lid`). Required for group chats. */
  participant?: string;
  pushName?: string;
  /** `null` = WAHA did not download it (`hasMedia: true, media: null`). */
  media?: { data: Buffer; mimetype: string; filename?: string } | null;
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  vCards?: string[];
  /** Bare id of the quoted message. */
  replyTo?: { id: string; participant?: string; body?: string };
  /** WEBJS `_data.type` override (e.g. `ptt`, `sticker`, `list_response`). */
  type?: string;
  /** Extra `_data` fields (e.g. `listResponse`). */
  data?: Record<string, unknown>;
}

export function chatIdOf(from: string): string {
  return from.includes('@') ? from : `${from.replace(/\D/g, '')}@c.us`;
}

export function buildInbound(
  engine: WahaEngine,
  me: SimMe,
  spec: InboundSpec,
  mediaUrl: (bare: string, mimetype: string) => string,
): Record<string, unknown> {
  const chatId = chatIdOf(spec.from);
  const group = chatId.endsWith('@g.us');
  if (group && !spec.participant) throw new Error('group messages need a participant');
  const participant = group ? spec.participant! : undefined;
  const bare = newBareId();
  const id = `false_${chatId}_${bare}${participant ? `_${participant}` : ''}`;
  const ts = Math.floor(Date.now() / 1000);
  const type = spec.type ?? (spec.location ? 'location' : spec.vCards ? 'vcard' : spec.media !== undefined ? mediaType(spec.media?.mimetype) : 'chat');
  const media = spec.media ? { url: mediaUrl(bare, spec.media.mimetype), mimetype: spec.media.mimetype, filename: spec.media.filename ?? null, error: null } : null;
  const data: Record<string, unknown> =
    engine === 'WEBJS'
      ? { id: { fromMe: false, remote: chatId, id: bare, ...(participant ? { participant } : {}), _serialized: id }, type, body: spec.text ?? '', t: ts, notifyName: spec.pushName, ...spec.data }
      : { key: { remoteJid: toBaileysJid(chatId), fromMe: false, id: bare, ...(participant ? { participant } : {}) }, pushName: spec.pushName, messageTimestamp: ts, ...spec.data };
  return {
    id,
    timestamp: ts,
    from: chatId,
    fromMe: false,
    source: 'app',
    to: me.id,
    participant: participant ?? null,
    body: spec.text ?? '',
    hasMedia: spec.media !== undefined,
    media,
    ack: 1,
    ackName: ACK_NAME[1],
    location: spec.location ? { latitude: String(spec.location.latitude), longitude: String(spec.location.longitude), live: false, name: spec.location.name, address: spec.location.address } : null,
    vCards: spec.vCards ?? [],
    replyTo: spec.replyTo ? { id: spec.replyTo.id, participant: spec.replyTo.participant, body: spec.replyTo.body ?? '', hasMedia: false } : null,
    _data: data,
  };
}

function mediaType(mimetype: string | undefined): string {
  const m = mimetype ?? '';
  if (m === 'image/webp') return 'sticker';
  if (m.startsWith('image/')) return 'image';
  if (m.startsWith('video/')) return 'video';
  if (m.startsWith('audio/ogg')) return 'ptt';
  if (m.startsWith('audio/')) return 'audio';
  return 'document';
}

/** `message.ack` payload for one of our messages (`from` is the chat, as WAHA reports it). */
export function ackPayload(msg: Record<string, unknown>, ack: number): Record<string, unknown> {
  const chatId = typeof msg.to === 'string' ? msg.to : '';
  return { id: msg.id, from: chatId, to: isRecord(msg) ? msg.from : null, participant: null, fromMe: true, ack, ackName: ACK_NAME[ack] ?? 'UNKNOWN', _data: {} };
}

/** The participant the simulator has read and receive group messages. */
const GROUP_READER = '24610246492311@lid';

/**
 * The webhook event of an ack, as WAHA sends it: `message.ack` is for contacts only; in a group,
 * delivery and read receipts come per participant as `message.ack.group`, the message id with the
 * reader appended and `participant` set (WAHA's docs).
 */
export function ackEvent(msg: Record<string, unknown>, ack: number): { event: string; payload: Record<string, unknown> } {
  const chatId = typeof msg.to === 'string' ? msg.to : '';
  if (!chatId.endsWith('@g.us') || ack < 2) return { event: 'message.ack', payload: ackPayload(msg, ack) };
  return { event: 'message.ack.group', payload: { ...ackPayload(msg, ack), id: `${String(msg.id)}_${GROUP_READER}`, participant: GROUP_READER } };
}
