import type { DeliveryStatus, InboundEvent } from '../../core/canonical.js';
import { normalizeAddress } from '../../core/address.js';
import { systemClock, type Clock } from '../../core/runtime.js';
import { safeEqual } from '../../core/signatures.js';
import { isRecord, lookup, str } from '../http.js';
import type { RawWebhook, WebhookHandler, WebhookParseResult } from '../types.js';
import { normalizeInstanceId, ultramsgExternalId, type UltramsgCredentials } from './credentials.js';
import { contentFromData } from './webhook-content.js';
import { parseWebhookJson, storableTime } from '../json.js';
import { isOwnMessageId } from '../../core/ids.js';

/**
 * UltraMsg webhooks: one JSON envelope per POST,
 *   {"event_type":"message_received"|"message_create"|"message_ack", "instanceId":"1150",
 *    "id":"<queue id or "">", "referenceId":"<our referenceId or "">", "hash"?, "data":{…}}
 *
 * Authentication: UltraMsg signs nothing (CONTRACTS §3.1). Switchboard gives each channel an
 * unguessable URL (`/webhooks/ultramsg/{channelToken}`) and the ingress checks that token; `verify`
 * here is the second, weaker check that the body talks about this channel's instance.
 *
 * Which id an event about our own messages names (`message_ack`, `message_create` with fromMe) —
 * the rule implemented (see docs/providers/ultramsg.md, decision 045):
 *   `send` returns the numeric queue id (`{"id":44897}`) while `data.id` is the WhatsApp id
 *   (`true_<chat>_<hex>`), which the send answer never reveals. providerMessageId is, in order:
 *     1. the top-level `referenceId` when it is one of our ids (`msg_…`; every send carries it) —
 *        the status store matches it against our own message id, so it applies even before the
 *        worker has saved the send result;
 *     2. else the top-level `id` when it is a queue id (digits) — equals SendResult.providerMessageId;
 *     3. else `data.id` — a message sent from the phone or UltraMsg's dashboard, not through us.
 *   A fromMe `message_create` naming one of our messages (1.) is the phone's echo of our own send:
 *   it becomes a `sent` status of that message, never a second outbound message (UltraMsg posts it
 *   before it answers the send, and storing it raced the worker's save of the send result).
 *   Inbound messages always use `data.id`, because that is what `msgId` (reply, reaction) expects.
 */

const ACK: Record<string, DeliveryStatus | null> = {
  pending: null, // still on the phone: not a delivery state Switchboard models
  server: 'sent',
  device: 'delivered',
  read: 'read',
  played: 'played',
  error: 'failed',
  failed: 'failed',
  // whatsapp-web.js numeric acks, in case UltraMsg passes them through
  '-1': 'failed',
  '0': null,
  '1': 'sent',
  '2': 'delivered',
  '3': 'read',
  '4': 'played',
};

type Parsed = { events: InboundEvent[] } | { error: 'malformed' | 'unsupported'; detail: string };

function bool(v: unknown): boolean {
  return v === true || v === 'true' || v === 1;
}

function nonEmpty(v: unknown): string | undefined {
  const s = str(v)?.trim();
  return s ? s : undefined;
}

/** `referenceId` when it names one of our messages. */
export function ownReference(env: Record<string, unknown>): string | undefined {
  const ref = nonEmpty(env.referenceId);
  return ref && isOwnMessageId(ref) ? ref : undefined;
}

/** The id rule above, for events about messages the line sent. */
export function ownMessageId(env: Record<string, unknown>, data: Record<string, unknown>): string | undefined {
  const ours = ownReference(env);
  if (ours) return ours;
  const queueId = nonEmpty(env.id);
  if (queueId && /^\d+$/.test(queueId)) return queueId;
  return nonEmpty(data.id);
}

/**
 * Unix seconds, as UltraMsg documents. Milliseconds (13 digits, as some integrations forward them)
 * are read as such; anything else that is not a time falls back to the clock like a missing one:
 * a message is never refused for an odd timestamp.
 */
function timestampOf(data: Record<string, unknown>, clock: Clock): Date {
  const t = data.time ?? data.timestamp;
  const n = typeof t === 'number' ? t : typeof t === 'string' && t.trim() !== '' ? Number(t) : NaN;
  if (!Number.isFinite(n) || n <= 0) return clock.now();
  return storableTime(new Date(n > 1e11 ? n : n * 1000)) ?? clock.now();
}

function parseEnvelope(env: unknown, clock: Clock): Parsed {
  if (!isRecord(env)) return { error: 'malformed', detail: 'envelope is not an object' };
  const externalId = normalizeInstanceId(env.instanceId);
  if (!externalId) return { error: 'malformed', detail: 'instanceId missing or not numeric' };
  const eventType = str(env.event_type);
  if (eventType !== 'message_received' && eventType !== 'message_create' && eventType !== 'message_ack') {
    return { error: 'unsupported', detail: `event_type ${String(eventType)} not handled` };
  }
  const data = env.data;
  if (!isRecord(data)) return { error: 'malformed', detail: 'data missing' };
  const waId = nonEmpty(data.id);
  if (!waId) return { error: 'malformed', detail: 'data.id missing' };
  const timestamp = timestampOf(data, clock);
  const fromMe = bool(data.fromMe);

  if (eventType === 'message_ack') {
    const ackRaw = str(data.ack)?.trim().toLowerCase() ?? '';
    const status = lookup(ACK, ackRaw);
    if (status === undefined) return { error: 'unsupported', detail: `ack ${ackRaw || '(empty)'} not handled` };
    if (!status) return { events: [] };
    const providerMessageId = ownMessageId(env, data)!;
    const event: InboundEvent = { kind: 'message.status', externalId, dedupeKey: `ack:${waId}:${status}`, timestamp, providerMessageId, status };
    const recipient = normalizeAddress(str(data.to) ?? '');
    if (recipient) event.recipient = recipient;
    if (status === 'failed') event.error = { code: ackRaw, title: 'WhatsApp reported the message as not sent' };
    return { events: [event] };
  }

  // The phone's echo of a message we sent: a status of that message (rule above), not a new one.
  // Its dedupe key is its own: a later `server` ack (also `sent`) must still pass.
  const ours = fromMe ? ownReference(env) : undefined;
  if (ours) {
    const event: InboundEvent = { kind: 'message.status', externalId, dedupeKey: `echo:${waId}`, timestamp, providerMessageId: ours, status: 'sent' };
    const recipient = normalizeAddress(str(data.to) ?? '');
    if (recipient) event.recipient = recipient;
    return { events: [event] };
  }

  // Groups: `from` is the group and `author` the participant; own messages: `to` is the peer.
  const chatJid = str(fromMe ? data.to : data.from) ?? '';
  // Contacts' status updates (stories) are not messages to the line, as on WAHA.
  if (chatJid === 'status@broadcast') return { events: [] };
  const chat = normalizeAddress(chatJid);
  const from = normalizeAddress(nonEmpty(data.author) ?? str(data.from) ?? '');
  if (!chat || !from) return { error: 'malformed', detail: 'from/to is not a WhatsApp address' };
  const event: InboundEvent = {
    kind: 'message.received',
    externalId,
    dedupeKey: `msg:${waId}`,
    timestamp,
    providerMessageId: fromMe ? ownMessageId(env, data)! : waId,
    chat,
    from,
    fromMe,
    content: contentFromData(data),
  };
  const pushname = nonEmpty(data.pushname);
  if (pushname && !fromMe) event.profileName = pushname;
  const quoted = isRecord(data.quotedMsg) ? data.quotedMsg : undefined;
  const replyTo = nonEmpty(quoted?.id) ?? (isRecord(quoted?.id) ? nonEmpty(quoted.id._serialized) : undefined) ?? nonEmpty(data.quotedMsgId);
  if (replyTo) event.replyTo = replyTo;
  return { events: [event] };
}

function readJson(raw: RawWebhook): unknown {
  try {
    return parseWebhookJson(raw.body);
  } catch {
    return undefined;
  }
}

/** The envelopes in a body: one object, or (defensively) an array of them. */
function envelopes(body: unknown): unknown[] | undefined {
  if (Array.isArray(body)) return body.length > 0 && body.length <= 1000 ? body : undefined;
  return isRecord(body) ? [body] : undefined;
}

export function createUltramsgWebhook(clock: Clock = systemClock): WebhookHandler<UltramsgCredentials> {
  return {
    routingKeys: () => [],

    verify(raw, credentials) {
      try {
        const want = ultramsgExternalId(credentials);
        const list = envelopes(readJson(raw));
        if (!list) return false;
        return list.every((e) => isRecord(e) && safeEqual(normalizeInstanceId(e.instanceId) ?? '', want));
      } catch {
        return false;
      }
    },

    parse(raw): WebhookParseResult {
      try {
        const list = envelopes(readJson(raw));
        if (!list) return { ok: false, reason: 'malformed', detail: 'body is not a JSON object' };
        const events: InboundEvent[] = [];
        for (const env of list) {
          const r = parseEnvelope(env, clock);
          if ('error' in r) return { ok: false, reason: r.error, detail: r.detail };
          events.push(...r.events);
        }
        return { ok: true, events };
      } catch (err) {
        return { ok: false, reason: 'malformed', detail: `unparseable: ${String(err).slice(0, 100)}` };
      }
    },
  };
}

export const ultramsgWebhook = createUltramsgWebhook();
