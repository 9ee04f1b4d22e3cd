import type { DeliveryStatus, InboundEvent, SessionStatus } from '../../core/canonical.js';
import { hmac, safeEqual } from '../../core/signatures.js';
import { isRecord, lookup, str } from '../http.js';
import type { RawWebhook, WebhookHandler, WebhookParseResult } from '../types.js';
import type { WahaCredentials } from './credentials.js';
import { canonicalAddress, isGroupJid, parseSerializedId, serializeId } from './ids.js';
import { secondsToDate, toCanonicalMessage, type WahaMe } from './inbound.js';
import { mapSessionStatus } from './session.js';
import { parseWebhookJson, storableTime } from '../json.js';

/**
 * WAHA webhooks. One POST carries one event:
 *   `{id: "evt_<ulid>", timestamp (ms), event, session, metadata?, me?, payload, engine?, environment?}`
 * Older servers (≤ 2024) omit id / timestamp / me / environment, and a real GOWS capture had no
 * top-level `engine`; none of those fields is required here. Routing is by the per-channel URL token,
 * so `routingKeys` is empty and `externalId` is the envelope's `session`.
 */

/** Events we do not turn into canonical events, on purpose (see docs/providers/waha.md). */
const IGNORED_EVENTS = new Set([
  'message.waiting',
  'presence.update',
  'poll.vote',
  'poll.vote.failed',
  'chat.archive',
  'call.received',
  'call.accepted',
  'call.rejected',
  'label.upsert',
  'label.deleted',
  'label.chat.added',
  'label.chat.deleted',
  'event.response',
  'event.response.failed',
  'engine.event',
  'state.change',
  'group.join',
  'group.leave',
  'group.v2.join',
  'group.v2.leave',
  'group.v2.update',
  'group.v2.participants',
  'group.v2.participants.join-request',
]);

const MAX_BODY_BYTES = 5 * 1024 * 1024;

const ACK_STATUS: Record<string, DeliveryStatus | undefined> = {
  '-1': 'failed',
  '1': 'sent',
  '2': 'delivered',
  '3': 'read',
  '4': 'played',
};
const ACK_NAMES: Record<string, number> = { ERROR: -1, PENDING: 0, SERVER: 1, DEVICE: 2, READ: 3, PLAYED: 4 };

export function verifyWahaSignature(raw: RawWebhook, credentials: Pick<WahaCredentials, 'webhookHmacKey'>): boolean {
  const key = credentials.webhookHmacKey;
  const given = raw.headers['x-webhook-hmac'];
  if (typeof key !== 'string' || key.length === 0 || typeof given !== 'string') return false;
  const alg = raw.headers['x-webhook-hmac-algorithm'];
  if (alg !== undefined && alg.trim().toLowerCase() !== 'sha512') return false;
  const expected = hmac('sha512', key, raw.body, 'hex');
  return safeEqual(given.trim().toLowerCase(), expected);
}

export function parseWahaWebhook(raw: RawWebhook): WebhookParseResult {
  try {
    return parseUnsafe(raw);
  } catch (err) {
    // Defence in depth: the parser is written not to throw, but hostile input must never escape.
    return { ok: false, reason: 'malformed', detail: `unparseable WAHA webhook: ${String(err).slice(0, 200)}` };
  }
}

const malformed = (detail: string): WebhookParseResult => ({ ok: false, reason: 'malformed', detail });

function parseUnsafe(raw: RawWebhook): WebhookParseResult {
  if (raw.body.length === 0 || raw.body.length > MAX_BODY_BYTES) return malformed('empty or oversized body');
  let env: unknown;
  try {
    env = parseWebhookJson(raw.body);
  } catch {
    return malformed('body is not JSON');
  }
  if (!isRecord(env)) return malformed('body is not a JSON object');
  const event = env.event;
  const session = env.session;
  if (typeof event !== 'string' || !event) return malformed('no event name');
  if (typeof session !== 'string' || !session || session.length > 256) return malformed('no session name');
  if (IGNORED_EVENTS.has(event)) return { ok: true, events: [] };
  const payload = env.payload;
  if (!isRecord(payload)) return malformed(`${event}: payload is not an object`);
  // The envelope timestamp (ms) is when WAHA created the event: the fallback for payloads without one.
  const envTs = msToDate(env.timestamp);
  const me: WahaMe | undefined = isRecord(env.me) ? { ...(str(env.me.id) ? { id: str(env.me.id)! } : {}), ...(str(env.me.lid) ? { lid: str(env.me.lid)! } : {}) } : undefined;
  const eventId = typeof env.id === 'string' && env.id.length <= 128 ? env.id : undefined;
  const ctx: Ctx = { externalId: session, envTs, me, eventId };
  switch (event) {
    case 'message':
    case 'message.any':
    case 'message.reaction':
      return message(payload, ctx, event);
    case 'message.ack':
    case 'message.ack.group':
      return ack(payload, ctx, event === 'message.ack.group');
    case 'message.revoked':
      return revoked(payload, ctx);
    case 'message.edited':
      return edited(payload, ctx);
    case 'session.status':
      return sessionStatus(payload, ctx);
    default:
      return { ok: false, reason: 'unsupported', detail: `unknown WAHA event ${event.slice(0, 64)}` };
  }
}

interface Ctx {
  externalId: string;
  envTs: Date | undefined;
  me: WahaMe | undefined;
  /** `evt_…` (absent on old servers); the ingress records it, we only use it as a last-resort key. */
  eventId: string | undefined;
}

/** Epoch milliseconds → Date, undefined unless it is a real, representable instant. */
function msToDate(v: unknown): Date | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 && v < 8.64e15 ? storableTime(new Date(v)) : undefined;
}

/** Never an invalid Date: the payload time, else the envelope time, else the time we parsed it. */
function when(ctx: Ctx, payloadTs?: Date): Date {
  return payloadTs ?? ctx.envTs ?? new Date();
}

function message(p: Record<string, unknown>, ctx: Ctx, event: string): WebhookParseResult {
  // WhatsApp Status (stories) arrive as messages from `status@broadcast`: not a conversation.
  if (p.from === 'status@broadcast') return { ok: true, events: [] };
  if (event === 'message.reaction') return reaction(p, ctx);
  const m = toCanonicalMessage(p, ctx.me);
  if (!m) return malformed(`${event}: message without a usable id or chat`);
  const { timestamp, ...rest } = m;
  // `message` and `message.any` both fire for an incoming message: the message id dedupes them.
  return { ok: true, events: [{ kind: 'message.received', externalId: ctx.externalId, dedupeKey: `msg:${m.providerMessageId}`, timestamp: when(ctx, timestamp), ...rest }] };
}

function reaction(p: Record<string, unknown>, ctx: Ctx): WebhookParseResult {
  const r = p.reaction;
  if (!isRecord(r) || typeof r.messageId !== 'string' || !r.messageId) return malformed('message.reaction: no reaction.messageId');
  const jidFrom = str(p.from);
  const fromMe = p.fromMe === true;
  const target = parseSerializedId(r.messageId);
  const chatJid = isGroupJid(jidFrom) ? jidFrom : fromMe ? (target?.chat ?? str(p.to) ?? jidFrom) : jidFrom;
  const chat = canonicalAddress(chatJid);
  if (!chat) return malformed('message.reaction: no chat');
  const from = isGroupJid(chatJid) ? (canonicalAddress(p.participant) ?? chat) : chat;
  const emoji = typeof r.text === 'string' ? r.text : '';
  const id = typeof p.id === 'string' && p.id ? p.id : undefined;
  const ts = secondsToDate(p.timestamp);
  const ev: InboundEvent = {
    kind: 'message.received',
    externalId: ctx.externalId,
    // A reaction is its own WhatsApp message; without an id, who/what/when identifies it.
    dedupeKey: id ? `msg:${id}` : `reaction:${r.messageId}:${from}:${emoji}:${ts?.getTime() ?? ''}`,
    timestamp: when(ctx, ts),
    providerMessageId: id ?? `reaction:${r.messageId}:${from}`,
    chat,
    from,
    fromMe,
    content: { type: 'reaction', messageId: r.messageId, emoji },
  };
  return { ok: true, events: [ev] };
}

function ackNumber(p: Record<string, unknown>): number | undefined {
  if (typeof p.ack === 'number' && Number.isInteger(p.ack)) return p.ack;
  if (typeof p.ackName === 'string') return lookup(ACK_NAMES, p.ackName);
  return undefined;
}

function ack(p: Record<string, unknown>, ctx: Ctx, groupEvent: boolean): WebhookParseResult {
  if (typeof p.id !== 'string' || !p.id || p.id.length > 512) return malformed('message.ack: no message id');
  const n = ackNumber(p);
  if (n === undefined) return malformed('message.ack: no ack value');
  // PENDING (0) is the state before "sent": nothing to report. Acks on messages we did not send
  // (WEBJS reports our own reads of incoming messages) are not delivery statuses of ours either.
  if (n === 0 || p.fromMe === false) return { ok: true, events: [] };
  const status = ACK_STATUS[String(n)];
  if (!status) return { ok: false, reason: 'unsupported', detail: `message.ack: unknown ack ${n}` };
  const participant = canonicalAddress(p.participant);
  const parts = parseSerializedId(p.id);
  const chatJid = str(p.from) ?? parts?.chat;
  // A group ack names the message with the reader appended (`true_<g>@g.us_<id>_<reader>`, WAHA's
  // docs); our send was stored as `true_<g>@g.us_<id>`, so the reader's suffix is left off here.
  const messageId = parts?.participant && isGroupJid(parts.chat) && parts.participant === str(p.participant)
    ? serializeId({ fromMe: parts.fromMe, chat: parts.chat, id: parts.id })
    : p.id;
  const recipient = (isGroupJid(chatJid) || groupEvent ? participant : undefined) ?? canonicalAddress(chatJid);
  const ev: InboundEvent = {
    kind: 'message.status',
    externalId: ctx.externalId,
    // A group message is read once per participant: each participant's ack is its own event.
    dedupeKey: `status:${p.id}:${n}${participant && (groupEvent || isGroupJid(chatJid)) ? `:${participant}` : ''}`,
    timestamp: when(ctx, secondsToDate(p.timestamp)),
    providerMessageId: messageId,
    status,
    ...(recipient ? { recipient } : {}),
    ...(status === 'failed' ? { error: { code: 'ERROR', title: 'WhatsApp reported the message as failed (ack -1)' } } : {}),
  };
  return { ok: true, events: [ev] };
}

/**
 * Revokes and edits name their target by bare id (`revokedMessageId`, `editedMessageId`). The
 * serialized form is rebuilt from the action message, which has the same author and chat as the
 * target (only the author can revoke or edit); the bare id is kept when that is not possible.
 */
function targetId(bare: string, action: unknown): string {
  if (bare.includes('_')) return bare;
  if (!isRecord(action) || typeof action.id !== 'string') return bare;
  const parts = parseSerializedId(action.id);
  return parts ? serializeId({ ...parts, id: bare }) : bare;
}

function revoked(p: Record<string, unknown>, ctx: Ctx): WebhookParseResult {
  const before = isRecord(p.before) ? p.before : undefined;
  const after = isRecord(p.after) ? p.after : undefined;
  const bare = str(p.revokedMessageId);
  const id = (before && typeof before.id === 'string' && before.id) || (bare ? targetId(bare, after) : undefined);
  if (!id || id.length > 512) return malformed('message.revoked: no revoked message id');
  const ref = before ?? after;
  const chatJid = ref ? (parseSerializedId(String(ref.id ?? ''))?.chat ?? str(ref.from)) : parseSerializedId(id)?.chat;
  const chat = canonicalAddress(chatJid);
  const ev: InboundEvent = {
    kind: 'message.revoked',
    externalId: ctx.externalId,
    dedupeKey: `revoked:${id}`,
    timestamp: when(ctx, secondsToDate(after?.timestamp)),
    providerMessageId: id,
    ...(chat ? { chat } : {}),
  };
  return { ok: true, events: [ev] };
}

function edited(p: Record<string, unknown>, ctx: Ctx): WebhookParseResult {
  const bare = str(p.editedMessageId);
  const actionId = typeof p.id === 'string' && p.id ? p.id : undefined;
  const id = bare ? targetId(bare, p) : actionId;
  if (!id || id.length > 512) return malformed('message.edited: no edited message id');
  const text = typeof p.body === 'string' ? p.body : '';
  const chat = canonicalAddress((actionId && parseSerializedId(actionId)?.chat) ?? str(p.from));
  const ts = secondsToDate(p.timestamp);
  const ev: InboundEvent = {
    kind: 'message.edited',
    externalId: ctx.externalId,
    // Each edit is its own action message; a message edited twice yields two events.
    dedupeKey: actionId ? `edited:${actionId}` : `edited:${id}:${ts?.getTime() ?? text}`,
    timestamp: when(ctx, ts),
    providerMessageId: id,
    text,
    ...(chat ? { chat } : {}),
  };
  return { ok: true, events: [ev] };
}

function sessionStatus(p: Record<string, unknown>, ctx: Ctx): WebhookParseResult {
  const raw = str(p.status);
  if (!raw) return malformed('session.status: no status');
  const status: SessionStatus = mapSessionStatus(raw);
  // The newest matching point of `statuses` says when this status began; SCAN_QR_CODE repeats on
  // every QR refresh, each with its own timestamp, so each refresh is a distinct event.
  const points = Array.isArray(p.statuses) ? p.statuses.filter(isRecord) : [];
  const point = [...points].reverse().find((s) => s.status === raw && msToDate(s.timestamp) !== undefined);
  const pointTs = point ? msToDate(point.timestamp) : undefined;
  const ts = pointTs ?? ctx.envTs;
  const ev: InboundEvent = {
    kind: 'session.status',
    externalId: ctx.externalId,
    dedupeKey: `session:${raw}:${ts ? ts.getTime() : (ctx.eventId ?? 'unknown')}`,
    timestamp: when(ctx, ts),
    status,
  };
  return { ok: true, events: [ev] };
}

export const wahaWebhook: WebhookHandler<WahaCredentials> = {
  routingKeys: () => [],
  verify: verifyWahaSignature,
  parse: parseWahaWebhook,
};
