import { randomFillSync } from 'node:crypto';

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
/** Every 10-bit value as its two base32 characters: an id's random part is eight lookups. */
const PAIRS = Array.from({ length: 1024 }, (_, v) => B32[v >> 5]! + B32[v & 31]!);

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = B32[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

/** 80 bits → 16 base32 chars, 10 bits at a time (two 40-bit halves of five bytes each). */
export function encodeRandom(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < 10; i += 5) {
    out +=
      PAIRS[(b[i]! << 2) | (b[i + 1]! >> 6)]! +
      PAIRS[((b[i + 1]! & 63) << 4) | (b[i + 2]! >> 4)]! +
      PAIRS[((b[i + 2]! & 15) << 6) | (b[i + 3]! >> 2)]! +
      PAIRS[((b[i + 3]! & 3) << 8) | b[i + 4]!]!;
  }
  return out;
}

/**
 * Random bytes are drawn from the CSPRNG a pool at a time: one `randomBytes` call per id was a
 * measurable share of the inbound pipeline's per-message work (each message makes four ids).
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolAt = POOL_BYTES;
let lastMs = 0;
let lastTime = '';
const lastRand = new Uint8Array(10);

/** Monotonic within a process: ids made in the same millisecond still sort in creation order. */
export function ulid(now: number = Date.now()): string {
  if (now <= lastMs) {
    for (let i = lastRand.length - 1; i >= 0; i--) {
      lastRand[i] = (lastRand[i]! + 1) & 0xff;
      if (lastRand[i] !== 0) break;
    }
  } else {
    lastMs = now;
    lastTime = encodeTime(now);
    if (poolAt + lastRand.length > POOL_BYTES) {
      randomFillSync(pool);
      poolAt = 0;
    }
    lastRand.set(pool.subarray(poolAt, poolAt + lastRand.length));
    poolAt += lastRand.length;
  }
  return lastTime + encodeRandom(lastRand);
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

/**
 * An id that names one of our messages as a provider reports it back (UltraMsg's `referenceId`,
 * decision 045): the `msg_` prefix, looser in its body than `isId` (fixtures use short ones). No
 * provider's own ids look like this.
 */
export const isOwnMessageId = (id: string): boolean => /^msg_[0-9A-Za-z]{1,64}$/.test(id);
