import { normalizeAddress } from '../../core/address.js';
import { isRecord, str } from '../http.js';

/**
 * WhatsApp ids as WAHA writes them.
 *
 * Chat ids: `<digits>@c.us`, `<id>@g.us`, `<digits>@lid`, `…@newsletter`; `@s.whatsapp.net` only in
 * NOWEB raw data. Message ids (the "serialized" form every webhook uses):
 *   `<fromMe>_<chatId>_<bareId>[_<participant>]`, e.g. `true_111@c.us_3EB0…`,
 *   `false_120363…@g.us_3EB0…_2461…@lid`.
 * Statuses, reactions, edits and revokes all refer to messages by this form, so Switchboard stores
 * exactly this as the provider message id.
 */

/** Anything shaped like a WhatsApp JID, even when the user part is not a valid number (anonymised data). */
const LOOSE_JID = /^[A-Za-z0-9._:+-]{1,64}@(c\.us|g\.us|lid|s\.whatsapp\.net|newsletter|broadcast)$/;

/**
 * Canonical address for a WAHA chat id. Falls back to the JID itself when it is JID-shaped but not a
 * valid phone number (WAHA payloads in docs and bug reports carry `7911111@c.us`, `xxx@g.us`): an
 * inbound message is never dropped for an odd sender. Undefined when it is not an address at all.
 */
export function canonicalAddress(jid: unknown): string | undefined {
  if (typeof jid !== 'string') return undefined;
  const s = jid.trim();
  const normal = normalizeAddress(s);
  if (normal) return normal;
  return LOOSE_JID.test(s) ? s.replace(/@s\.whatsapp\.net$/, '@c.us') : undefined;
}

export function isGroupJid(jid: string | undefined): boolean {
  return typeof jid === 'string' && jid.endsWith('@g.us');
}

/** Bare NOWEB JIDs (`111@s.whatsapp.net`, device suffix `111:3@s.whatsapp.net`) → WAHA's `111@c.us`. */
export function toWahaJid(jid: string): string {
  const m = /^([^@:]+)(?::\d+)?@s\.whatsapp\.net$/.exec(jid);
  return m ? `${m[1]}@c.us` : jid;
}

export interface SerializedIdParts {
  fromMe: boolean;
  chat: string;
  id: string;
  participant?: string;
}

/** Splits `true_<chat>_<id>[_<participant>]`; undefined for anything else (bare ids, NOWEB oddities). */
export function parseSerializedId(serialized: string): SerializedIdParts | undefined {
  const m = /^(true|false)_([^_\s]+@[a-z.]+)_([^_\s]+)(?:_([^_\s]+@[a-z.]+))?$/.exec(serialized);
  if (!m) return undefined;
  const out: SerializedIdParts = { fromMe: m[1] === 'true', chat: m[2]!, id: m[3]! };
  if (m[4]) out.participant = m[4];
  return out;
}

export function serializeId(p: SerializedIdParts): string {
  return `${p.fromMe}_${p.chat}_${p.id}${p.participant ? `_${p.participant}` : ''}`;
}

/**
 * The provider message id out of a send answer, which WAHA returns in the ENGINE's own shape
 * (maintainer, devlikeapro/waha#760 and #1615):
 *  - WEBJS: whatsapp-web.js Message → `id._serialized` (or `_data.id._serialized`);
 *  - NOWEB: Baileys `{key: {remoteJid, fromMe, id, participant?}}` → rebuilt the way webhooks report it,
 *    `true_<remoteJid as @c.us>_<key.id>[_<participant>]`;
 *  - GOWS / WAMessage-like answers: a string `id`.
 * `sentTo` (the chatId we sent to) stands in when the key has no remoteJid.
 */
export function messageIdFromSendAnswer(answer: unknown, sentTo: string): string | undefined {
  if (!isRecord(answer)) return undefined;
  const id = answer.id;
  if (isRecord(id) && typeof id._serialized === 'string' && id._serialized) return id._serialized;
  const data = answer._data;
  if (isRecord(data) && isRecord(data.id) && typeof data.id._serialized === 'string' && data.id._serialized) {
    return data.id._serialized;
  }
  if (typeof id === 'string' && id) return id;
  const key = answer.key;
  if (isRecord(key) && typeof key.id === 'string' && key.id) {
    const remote = str(key.remoteJid);
    const participant = str(key.participant);
    return serializeId({
      fromMe: key.fromMe !== false,
      chat: toWahaJid(remote ?? sentTo),
      id: key.id,
      ...(participant ? { participant: toWahaJid(participant) } : {}),
    });
  }
  return undefined;
}
