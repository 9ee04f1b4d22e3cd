import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * Canonical addresses. One string form for every kind of WhatsApp party so the database, the API and
 * the adapters agree:
 *   phone  `+16505551234`          (E.164)
 *   group  `120363025246125486@g.us`
 *   lid    `123456789012345@lid`   (WhatsApp hidden id; shows up as group participants / senders)
 *   bsuid  `bsuid:US.13491208655302741918` (Meta business-scoped user id, users without a number)
 *   other  `…@newsletter`, `status@broadcast` kept verbatim
 */
export type Address =
  | { kind: 'phone'; value: string }
  | { kind: 'group'; value: string }
  | { kind: 'lid'; value: string }
  | { kind: 'bsuid'; value: string }
  | { kind: 'other'; value: string };

const JID = /^([^@\s]+)@(c\.us|s\.whatsapp\.net|g\.us|lid|newsletter|broadcast)$/;

/**
 * Parses an address as a tenant or a provider wrote it. Phone numbers must be valid E.164 numbers
 * (a leading `+` is optional for bare digits, as WhatsApp ids carry none). Returns null when the
 * input is not an address.
 */
export function parseAddress(input: string): Address | null {
  const s = input.trim();
  if (s.length === 0 || s.length > 128) return null;
  if (s.startsWith('bsuid:')) {
    const id = s.slice(6);
    return /^[A-Za-z0-9._-]{4,100}$/.test(id) ? { kind: 'bsuid', value: `bsuid:${id}` } : null;
  }
  const jid = JID.exec(s);
  if (jid) {
    const [, user, server] = jid as unknown as [string, string, string];
    if (server === 'c.us' || server === 's.whatsapp.net') {
      // `user` may carry a device suffix (`123:4`), which is not part of the number.
      return phoneFromDigits(user.split(':')[0] ?? '');
    }
    // A WhatsApp group id (`120363…`, or `<creator>-<time>`), or a Cloud API group id that did not
    // decode (kept opaque, sent back as is: src/providers/cloud-api/addressing.ts).
    if (server === 'g.us') return /^[0-9-]{5,64}$/.test(user) || /^[A-Za-z0-9+/_=-]{8,120}$/.test(user) ? { kind: 'group', value: s } : null;
    if (server === 'lid') return /^\d{5,64}$/.test(user) ? { kind: 'lid', value: s } : null;
    return { kind: 'other', value: s };
  }
  if (/^\+?[0-9 ().-]{6,24}$/.test(s)) return phoneFromDigits(s.replace(/[^0-9]/g, ''));
  return null;
}

/**
 * libphonenumber's parse was ~8 % of the inbound process's CPU on the bench (every webhook names
 * its sender, and senders repeat): answers are remembered, at most PHONE_CACHE_MAX digit strings,
 * cleared whole when full. The answer for a digit string never changes within a process.
 */
const PHONE_CACHE_MAX = 200_000;
const phoneCache = new Map<string, string | null>();
/**
 * North American numbers (+1 and ten digits) skip the library: for them it answers `+<digits>`,
 * possible, whatever the digits, but first finds which of the ~25 NANP countries the number belongs
 * to by trying each one's patterns — ~27 µs a number against 4–12 µs elsewhere (a microbenchmark,
 * 2026-11-29); it was 22 % of the processing thread in a V8 profile of the bench's peak, whose
 * senders are mostly new. src/core/address.test.ts checks this answer against the library in
 * every area code.
 */
export const NANP = /^1\d{10}$/;
/**
 * WhatsApp still names Mexican mobiles `521` + ten digits (the mobile `1` Mexico dropped from its
 * numbering in 2019; libphonenumber calls the form impossible). They are kept as WhatsApp writes them,
 * `+521…`, so a message from one is never dropped and a reply goes to the same WhatsApp id.
 */
const MEXICO_WHATSAPP = /^521\d{10}$/;

function phoneFromDigits(digits: string): Address | null {
  if (!/^\d{6,15}$/.test(digits)) return null;
  // Not cached: nothing to save, and it would push the library's answers out of the cache.
  if (NANP.test(digits) || MEXICO_WHATSAPP.test(digits)) return { kind: 'phone', value: `+${digits}` };
  let value = phoneCache.get(digits);
  if (value === undefined) {
    value = libraryE164(digits);
    if (phoneCache.size >= PHONE_CACHE_MAX) phoneCache.clear();
    phoneCache.set(digits, value);
  }
  return value === null ? null : { kind: 'phone', value };
}

/** libphonenumber's E.164 form of `+<digits>` when it is a possible number, else null. */
export function libraryE164(digits: string): string | null {
  const parsed = parsePhoneNumberFromString(`+${digits}`);
  return parsed && parsed.isPossible() ? parsed.number : null;
}

/** Canonical string form, or null when the input is not an address. */
export function normalizeAddress(input: string): string | null {
  return parseAddress(input)?.value ?? null;
}

/** Digits without `+`, as the Cloud API `to` field and WhatsApp ids want them. */
export function phoneDigits(canonical: string): string {
  return canonical.replace(/^\+/, '');
}

/** WAHA / whatsapp-web.js chat id for a canonical address. */
export function toChatId(canonical: string): string {
  const a = parseAddress(canonical);
  if (!a) throw new Error(`not an address: ${canonical}`);
  return a.kind === 'phone' ? `${phoneDigits(a.value)}@c.us` : a.value;
}
