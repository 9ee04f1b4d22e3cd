import { createHash } from 'node:crypto';
import type { DeliveryStatus, InboundEvent } from '../../core/canonical.js';
import { hmac, safeEqual } from '../../core/signatures.js';
import { isRecord, str } from '../http.js';
import type { RawWebhook, WebhookHandler, WebhookParseResult } from '../types.js';
import { bsuidAddress, groupAddress, phoneAddress } from './addressing.js';
import type { CloudApiCredentials } from './credentials.js';
import { toErrorInfo } from './errors.js';
import { inboundContent } from './inbound.js';
import { parseWebhookJson, storableTime } from '../json.js';

/**
 * Meta webhooks → canonical events. One Meta App posts every line's traffic to one URL, batched:
 * several `entry[]` (WABAs), `changes[]` (lines) and `messages[]`/`statuses[]`/`errors[]` per POST
 * (CONTRACTS.md §1.7). Everything is iterated; each event carries its own change's phone_number_id
 * so ingress can check it against the channel the POST was routed to.
 */

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;
const STATUSES = new Set<DeliveryStatus>(['sent', 'delivered', 'read', 'played', 'failed']);

/** `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`, compared in constant time. */
export function verifySignature(body: Buffer, header: string | undefined, appSecret: string): boolean {
  if (typeof header !== 'string' || typeof appSecret !== 'string' || appSecret.length === 0) return false;
  const m = SIGNATURE.exec(header.trim());
  if (!m) return false;
  return safeEqual(m[1]!.toLowerCase(), hmac('sha256', appSecret, body, 'hex'));
}

/**
 * The GET handshake Meta performs when the webhook URL is saved: answers `hub.challenge` when
 * `hub.mode=subscribe` and `hub.verify_token` is one of the channels' tokens, else null (→ 403).
 */
export function verifyChallenge(
  query: Record<string, string | undefined>,
  verifyTokens: string[],
): string | null {
  const mode = query['hub.mode'];
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (mode !== 'subscribe' || typeof token !== 'string' || typeof challenge !== 'string') return null;
  // Meta sends a number; anything else is not echoed, so the endpoint cannot reflect content.
  if (!/^[A-Za-z0-9._~-]{1,256}$/.test(challenge)) return null;
  let ok = false;
  // Every token is compared (no early exit) so timing does not reveal which one matched.
  for (const t of verifyTokens) if (typeof t === 'string' && t.length > 0 && safeEqual(t, token)) ok = true;
  return ok ? challenge : null;
}

/**
 * Parsed bodies by buffer: ingress reads a webhook's routing keys and the normaliser then parses the
 * same buffer it holds in memory; JSON.parse of a Cloud API webhook was the largest single cost of
 * both. Entries live as long as the buffer (a WeakMap); nothing here mutates a parsed document.
 */
const parsedBodies = new WeakMap<Buffer, unknown>();

function parseJson(body: Buffer): unknown {
  if (parsedBodies.has(body)) return parsedBodies.get(body);
  let json: unknown;
  try {
    json = parseWebhookJson(body);
  } catch {
    json = undefined;
  }
  parsedBodies.set(body, json);
  return json;
}

function entriesOf(json: unknown): unknown[] {
  return isRecord(json) && Array.isArray(json.entry) ? json.entry : [];
}

function changesOf(entry: unknown): Record<string, unknown>[] {
  if (!isRecord(entry) || !Array.isArray(entry.changes)) return [];
  return entry.changes.filter(isRecord);
}

function phoneNumberIdOf(value: unknown): string | undefined {
  return isRecord(value) && isRecord(value.metadata) ? str(value.metadata.phone_number_id) : undefined;
}

export function routingKeys(raw: RawWebhook): string[] {
  const keys = new Set<string>();
  try {
    for (const entry of entriesOf(parseJson(raw.body))) {
      for (const change of changesOf(entry)) {
        const id = phoneNumberIdOf(change.value);
        if (id) keys.add(id);
      }
    }
  } catch {
    // hostile input: no keys, ingress records and drops it
  }
  return [...keys];
}

function unixSeconds(v: unknown): Date | undefined {
  const s = str(v);
  if (s === undefined || !/^\d{1,12}$/.test(s)) return undefined;
  return storableTime(new Date(Number(s) * 1000));
}

export function parse(raw: RawWebhook): WebhookParseResult {
  try {
    const json = parseJson(raw.body);
    if (!isRecord(json)) return { ok: false, reason: 'malformed', detail: 'body is not a JSON object' };
    if (json.object !== 'whatsapp_business_account') {
      return {
        ok: false,
        reason: 'unsupported',
        detail: `object ${JSON.stringify(json.object ?? null)} is not whatsapp_business_account`,
      };
    }
    if (!Array.isArray(json.entry))
      return { ok: false, reason: 'malformed', detail: 'entry is not an array' };
    const events: InboundEvent[] = [];
    for (const entry of json.entry) {
      if (!isRecord(entry)) continue;
      // Receipt time of the batch; only a fallback when an item has no timestamp of its own.
      const entryTime = unixSeconds(entry.time) ?? new Date();
      for (const change of changesOf(entry)) {
        const value = change.value;
        const externalId = phoneNumberIdOf(value);
        if (!externalId || !isRecord(value)) continue; // unroutable: nothing can own it
        const field = str(change.field) ?? 'messages';
        const ctx = {
          externalId,
          value,
          entryTime,
          entryKey: `${str(entry.id) ?? ''}:${str(entry.time) ?? ''}`,
        };
        if (field === 'messages') {
          messageEvents(ctx, value.messages, false, events);
          statusEvents(ctx, events);
          errorEvents(ctx, events);
        } else if (field === 'smb_message_echoes') {
          // Coexistence: messages the business sent from the WhatsApp Business app.
          messageEvents(ctx, value.message_echoes, true, events);
        }
      }
    }
    return { ok: true, events };
  } catch (err) {
    return {
      ok: false,
      reason: 'malformed',
      detail: `unparseable payload: ${(err as Error)?.message ?? 'error'}`,
    };
  }
}

interface Ctx {
  externalId: string;
  value: Record<string, unknown>;
  entryTime: Date;
  /** entry id + its raw `time`: stable across redeliveries, unlike a fallback receipt time. */
  entryKey: string;
}

function messageEvents(ctx: Ctx, list: unknown, fromMe: boolean, out: InboundEvent[]): void {
  if (!Array.isArray(list)) return;
  const contacts = Array.isArray(ctx.value.contacts) ? ctx.value.contacts.filter(isRecord) : [];
  for (const m of list) {
    if (!isRecord(m)) continue;
    const id = str(m.id);
    if (!id) continue; // without a wamid it can be neither deduplicated nor referred to
    const waId = str(m.from);
    const userId = str(m.from_user_id);
    const sender = waId ? phoneAddress(waId) : userId ? bsuidAddress(userId) : undefined;
    if (!sender) continue;
    const groupId = str(m.group_id);
    // Echoes: the peer is the customer in `to`; the sender is the line itself.
    const echoPeer = fromMe
      ? str(m.to)
        ? phoneAddress(str(m.to)!)
        : str(m.to_user_id)
          ? bsuidAddress(str(m.to_user_id)!)
          : undefined
      : undefined;
    const chat = groupId ? groupAddress(groupId) : (echoPeer ?? sender);
    const contact = contacts.find(
      (c) =>
        (waId !== undefined && str(c.wa_id) === waId) || (userId !== undefined && str(c.user_id) === userId),
    );
    const profileName = isRecord(contact?.profile) ? str(contact.profile.name) : undefined;
    const content = inboundContent(m);
    const replyTo = content.type !== 'reaction' && isRecord(m.context) ? str(m.context.id) : undefined;
    out.push({
      kind: 'message.received',
      externalId: ctx.externalId,
      dedupeKey: `msg:${id}`,
      timestamp: unixSeconds(m.timestamp) ?? ctx.entryTime,
      providerMessageId: id,
      chat,
      from: sender,
      fromMe,
      ...(profileName === undefined ? {} : { profileName }),
      ...(replyTo === undefined ? {} : { replyTo }),
      content,
    });
  }
}

function statusEvents(ctx: Ctx, out: InboundEvent[]): void {
  if (!Array.isArray(ctx.value.statuses)) return;
  for (const s of ctx.value.statuses) {
    if (!isRecord(s)) continue;
    const id = str(s.id);
    const status = str(s.status) as DeliveryStatus | undefined;
    if (!id || !status || !STATUSES.has(status)) continue;
    const groupId = str(s.group_id) ?? (s.recipient_type === 'group' ? str(s.recipient_id) : undefined);
    const recipientId = str(s.recipient_id);
    const recipientUserId = str(s.recipient_user_id);
    const recipient = groupId
      ? groupAddress(groupId)
      : recipientId
        ? phoneAddress(recipientId)
        : recipientUserId
          ? bsuidAddress(recipientUserId)
          : undefined;
    // In groups each member reports its own read/delivered; keep them apart.
    const participant = str(s.recipient_participant_id) ?? str(s.recipient_participant_user_id);
    const error = Array.isArray(s.errors)
      ? s.errors.map(toErrorInfo).find((e) => e !== undefined)
      : undefined;
    out.push({
      kind: 'message.status',
      externalId: ctx.externalId,
      dedupeKey: `status:${id}:${status}${groupId && participant ? `:${participant}` : ''}`,
      timestamp: unixSeconds(s.timestamp) ?? ctx.entryTime,
      providerMessageId: id,
      status,
      ...(recipient === undefined ? {} : { recipient }),
      ...(error === undefined ? {} : { error }),
    });
  }
}

function errorEvents(ctx: Ctx, out: InboundEvent[]): void {
  if (!Array.isArray(ctx.value.errors)) return;
  ctx.value.errors.forEach((e, i) => {
    const error = toErrorInfo(e);
    if (!error) return;
    // No id on these, and Meta's entries carry no time: the same error recurring on a line has the
    // same bytes as a redelivery of it. The hour it was received tells them apart, so a redelivery
    // within the hour is one event and the same error an hour later alerts again (decision 047).
    const hour = Math.floor(ctx.entryTime.getTime() / 3_600_000);
    const digest = createHash('sha256')
      .update(JSON.stringify([ctx.entryKey, hour, ctx.externalId, i, e]))
      .digest('hex')
      .slice(0, 24);
    out.push({
      kind: 'provider.error',
      externalId: ctx.externalId,
      dedupeKey: `error:${error.code}:${digest}`,
      timestamp: ctx.entryTime,
      error,
    });
  });
}

export const cloudApiWebhook: WebhookHandler<CloudApiCredentials> = {
  routingKeys,
  verify(raw, credentials) {
    try {
      return verifySignature(raw.body, raw.headers['x-hub-signature-256'], credentials.appSecret);
    } catch {
      return false;
    }
  },
  parse,
};
