import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AppError } from './errors.js';

/**
 * Egress policy for tenant-supplied URLs (provider base URLs, webhook endpoints): http(s) only, and
 * no loopback, private, link-local or otherwise internal addresses unless the operator allows them
 * (EGRESS_ALLOW_PRIVATE, e.g. a self-hosted WAHA on the same network). Checked on save, on the
 * addresses the name resolves to now. (DNS can change later; a proxy such as smokescreen closes
 * that gap in production — see docs/tenancy.md.)
 */
export function isInternalAddress(ip: string): boolean {
  if (isIP(ip) === 6) {
    const v = ip.toLowerCase();
    if (v === '::1' || v === '::') return true;
    if (v.startsWith('::ffff:')) return isInternalAddress(v.slice(7));
    return /^(fc|fd|fe8|fe9|fea|feb)/.test(v);
  }
  const p = ip.split('.').map(Number);
  const [a, b] = [p[0] ?? 0, p[1] ?? 0];
  return (
    a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 198 && (b === 18 || b === 19)) || a >= 224
  );
}

export async function checkEgress(url: string, field: string, allowPrivate: boolean): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AppError('validation_failed', `${field} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new AppError('egress_denied', `${field} must be http or https`);
  if (u.username || u.password) throw new AppError('egress_denied', `${field} must not embed credentials`);
  if (allowPrivate) return;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  let addrs: string[];
  try {
    addrs = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    throw new AppError('egress_denied', `${field}: the host ${host} does not resolve`);
  }
  if (host === 'localhost' || addrs.some(isInternalAddress)) {
    throw new AppError('egress_denied', `${field} points at an internal address; the operator can allow that with EGRESS_ALLOW_PRIVATE=true`);
  }
}
