import { isRecord, str } from '../http.js';
import type { ChannelRef, ProviderDeps } from '../types.js';
import { seg, wahaCall } from './client.js';
import type { WahaCredentials } from './credentials.js';
import { canonicalAddress } from './ids.js';
import { secondsToDate, toCanonicalMessage, type CanonicalMessage } from './inbound.js';
import { toChatId } from '../../core/address.js';
import { ProviderError } from '../../core/errors.js';

/**
 * Read-only views of a session (chat list, history, contacts, groups) for backfill and the inbox.
 * WAHA answers these in engine-specific shapes (WEBJS nests ids as `{_serialized}`, NOWEB uses plain
 * strings and `conversationTimestamp`), so each item is narrowed field by field and skipped when it
 * has no usable id.
 */

export interface WahaChat {
  /** Canonical address of the chat (phone, group, lid). */
  id: string;
  name?: string;
  lastActivityAt?: Date;
}
export interface WahaContact {
  address: string;
  name?: string;
  pushName?: string;
}
export interface WahaGroup {
  id: string;
  subject?: string;
  participants: string[];
}
export interface Page {
  limit?: number;
  offset?: number;
}

export interface WahaReads {
  chats(ch: ChannelRef<WahaCredentials>, page?: Page): Promise<WahaChat[]>;
  /** Newest first, as WAHA returns them. `chat` is a canonical address. */
  messages(ch: ChannelRef<WahaCredentials>, chat: string, page?: Page & { downloadMedia?: boolean }): Promise<CanonicalMessage[]>;
  contacts(ch: ChannelRef<WahaCredentials>, page?: Page): Promise<WahaContact[]>;
  groups(ch: ChannelRef<WahaCredentials>, page?: Page): Promise<WahaGroup[]>;
  /**
   * Whether a phone number is on WhatsApp, and the chat id WhatsApp really uses for it (it differs
   * from the dialled number for some Brazilian numbers, the "9th digit" quirk).
   */
  checkExists(ch: ChannelRef<WahaCredentials>, phone: string): Promise<{ exists: boolean; address?: string }>;
}

/** `"x@c.us"` or WEBJS `{_serialized: "x@c.us"}`. */
function idOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  return isRecord(v) ? str(v._serialized) : undefined;
}

/** WAHA list answers are arrays; some engines answer groups as an object keyed by group id. */
function items(json: unknown): unknown[] {
  if (Array.isArray(json)) return json;
  if (isRecord(json)) return Object.entries(json).map(([k, v]) => (isRecord(v) && v.id === undefined ? { id: k, ...v } : v));
  return [];
}

const clamp = (n: number | undefined, max: number): number | undefined => (n === undefined ? undefined : Math.max(0, Math.min(max, Math.floor(n))));

export function createReads(deps: ProviderDeps): WahaReads {
  const s = (ch: ChannelRef<WahaCredentials>): string => seg(ch.credentials.sessionName);
  return {
    async chats(ch, page = {}) {
      const res = await wahaCall(deps, ch, { method: 'GET', path: `/api/${s(ch)}/chats`, query: { limit: clamp(page.limit, 1000), offset: clamp(page.offset, 1e9) } });
      const out: WahaChat[] = [];
      for (const c of items(res.json)) {
        if (!isRecord(c)) continue;
        const id = canonicalAddress(idOf(c.id));
        if (!id) continue;
        const name = str(c.name);
        const at = secondsToDate(c.conversationTimestamp ?? c.timestamp);
        out.push({ id, ...(name ? { name } : {}), ...(at ? { lastActivityAt: at } : {}) });
      }
      return out;
    },
    async messages(ch, chat, page = {}) {
      let chatId: string;
      try {
        chatId = toChatId(chat);
      } catch {
        throw new ProviderError({ kind: 'invalid_request', retryable: false, message: `not a WhatsApp address: ${chat.slice(0, 64)}` });
      }
      const res = await wahaCall(deps, ch, {
        method: 'GET',
        path: `/api/${s(ch)}/chats/${seg(chatId)}/messages`,
        // `limit` is required by WAHA (default 10); downloading media for a backfill is opt-in.
        query: { limit: clamp(page.limit, 1000) ?? 10, offset: clamp(page.offset, 1e9), downloadMedia: page.downloadMedia ?? false },
      });
      return items(res.json)
        .map((m) => toCanonicalMessage(m))
        .filter((m): m is CanonicalMessage => m !== undefined);
    },
    async contacts(ch, page = {}) {
      const res = await wahaCall(deps, ch, {
        method: 'GET',
        path: '/api/contacts/all',
        query: { session: ch.credentials.sessionName, limit: clamp(page.limit, 5000), offset: clamp(page.offset, 1e9) },
      });
      const out: WahaContact[] = [];
      for (const c of items(res.json)) {
        if (!isRecord(c)) continue;
        const address = canonicalAddress(idOf(c.id));
        if (!address) continue;
        const name = str(c.name);
        const pushName = str(c.pushname) ?? str(c.pushName);
        out.push({ address, ...(name ? { name } : {}), ...(pushName ? { pushName } : {}) });
      }
      return out;
    },
    async groups(ch, page = {}) {
      const res = await wahaCall(deps, ch, { method: 'GET', path: `/api/${s(ch)}/groups`, query: { limit: clamp(page.limit, 1000), offset: clamp(page.offset, 1e9) } });
      const out: WahaGroup[] = [];
      for (const g of items(res.json)) {
        if (!isRecord(g)) continue;
        const id = canonicalAddress(idOf(g.id) ?? idOf(isRecord(g.groupMetadata) ? g.groupMetadata.id : undefined));
        if (!id) continue;
        const subject = str(g.subject) ?? str(g.name);
        const parts = Array.isArray(g.participants) ? g.participants : [];
        const participants = parts.map((p) => canonicalAddress(idOf(isRecord(p) ? p.id : p))).filter((x): x is string => !!x);
        out.push({ id, ...(subject ? { subject } : {}), participants });
      }
      return out;
    },
    async checkExists(ch, phone) {
      const res = await wahaCall(deps, ch, {
        method: 'GET',
        path: '/api/contacts/check-exists',
        query: { phone: phone.replace(/\D/g, ''), session: ch.credentials.sessionName },
      });
      const body = isRecord(res.json) ? res.json : {};
      const address = body.numberExists === true ? canonicalAddress(str(body.chatId)) : undefined;
      return { exists: body.numberExists === true, ...(address ? { address } : {}) };
    },
  };
}
