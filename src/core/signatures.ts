import { createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC of raw bytes, hex or base64 encoded. */
export function hmac(
  algorithm: 'sha256' | 'sha512',
  key: string | Buffer,
  data: Buffer | string,
  encoding: 'hex' | 'base64' = 'hex',
): string {
  return createHmac(algorithm, key).update(data).digest(encoding);
}

/**
 * Constant-time string comparison. `timingSafeEqual` throws on a length mismatch, so lengths are
 * checked first (leaking only the length, which for fixed-size digests is public anyway).
 */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
