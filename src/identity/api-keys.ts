import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * API key format (after GitHub's token design): `sb_live_` or `sb_test_` (tenant keys), `sb_admin_`
 * (superadmin keys), then 30 random base62 characters and a 6-character base62 CRC32 of them.
 * The underscore prefix is greppable by secret scanners and double-click selects the whole token;
 * the checksum rejects typos and random strings without a database round trip. Only SHA-256 of the
 * whole key is stored: the key has ~178 bits of entropy, so a slow hash adds nothing.
 */
export type KeyKind = 'live' | 'test' | 'admin';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LEN = 30;
const KEY_RE = /^sb_(live|test|admin)_([0-9A-Za-z]{30})([0-9A-Za-z]{6})$/;

function base62(n: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function randomBase62(len: number): string {
  // Rejection sampling keeps every character uniformly likely (248 = 4 × 62).
  let out = '';
  while (out.length < len) {
    for (const b of randomBytes(len * 2)) {
      if (b < 248 && out.length < len) out += BASE62[b % 62];
    }
  }
  return out;
}

const checksum = (body: string): string => base62(crc32(body) >>> 0, 6);

export function generateApiKey(kind: KeyKind): { key: string; hash: Buffer; hint: string } {
  const body = randomBase62(BODY_LEN);
  const key = `sb_${kind}_${body}${checksum(body)}`;
  return { key, hash: hashApiKey(key), hint: key.slice(0, `sb_${kind}_`.length + 4) };
}

export const hashApiKey = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** Checks the shape and checksum only. Returns the kind, or null for anything malformed. */
export function parseApiKey(key: string): KeyKind | null {
  const m = KEY_RE.exec(key);
  if (!m) return null;
  return checksum(m[2]!) === m[3] ? (m[1] as KeyKind) : null;
}

export const looksLikeApiKey = (s: string): boolean => s.startsWith('sb_');
