import { randomBytes } from 'node:crypto';

/**
 * Prefixed, sortable ids: `<prefix>_<26 chars>` where the 26 chars are a ULID (48-bit millisecond
 * time + 80 random bits, Crockford base32). They sort by creation time, which cursor pagination
 * relies on, and the prefix tells a reader what an id is (`ten_`, `chn_`, `msg_`, `key_`, `evt_`).
 */
export const ID_PREFIXES = {
  tenant: 'ten',
  user: 'usr',
  channel: 'chn',
  apiKey: 'key',
  message: 'msg',
  event: 'evt',
  audit: 'aud',
  session: 'ses',
  conversation: 'cnv',
  contact: 'ctc',
  job: 'job',
  webhookEndpoint: 'whe',
  delivery: 'dlv',
  inbox: 'inb',
  plan: 'pln',
} as const;
export type IdPrefix = (typeof ID_PREFIXES)[keyof typeof ID_PREFIXES];

const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastMs = 0;
let lastRand = Buffer.alloc(10);

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = B32[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

export function encodeRandom(bytes: Buffer): string {
  // 80 bits → 16 base32 chars, as two 40-bit halves (exact in a double; BigInt cost ~2 µs an id).
  let out = '';
  for (let h = 0; h < 2; h++) {
    let n = 0;
    for (let i = 0; i < 5; i++) n = n * 256 + bytes[h * 5 + i]!;
    let half = '';
    for (let i = 0; i < 8; i++) {
      half = B32[n % 32] + half;
      n = Math.floor(n / 32);
    }
    out += half;
  }
  return out;
}

/** Monotonic within a process: ids made in the same millisecond still sort in creation order. */
export function ulid(now: number = Date.now()): string {
  if (now <= lastMs) {
    const next = Buffer.from(lastRand);
    for (let i = next.length - 1; i >= 0; i--) {
      next[i] = (next[i]! + 1) & 0xff;
      if (next[i] !== 0) break;
    }
    lastRand = next;
    now = lastMs;
  } else {
    lastMs = now;
    lastRand = randomBytes(10);
  }
  return encodeTime(now) + encodeRandom(lastRand);
}

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}

/** The lowest id of `prefix` made at millisecond `ms`: ids made before it sort lower, ids made at or after it not. */
export function idFloor(prefix: IdPrefix, ms: number): string {
  return `${prefix}_${encodeTime(ms)}${'0'.repeat(16)}`;
}

const ID_RE = /^([a-z]{3})_[0-9A-HJKMNP-TV-Z]{26}$/;

/** True when `id` has the given prefix and a well-formed body (cheap check before a lookup). */
export function isId(id: string, prefix: IdPrefix): boolean {
  const m = ID_RE.exec(id);
  return m !== null && m[1] === prefix;
}
