import { Resolver } from 'node:dns/promises';
import { readFileSync, statSync } from 'node:fs';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { AppError } from './errors.js';

/**
 * Egress policy for tenant-supplied URLs (provider base URLs, webhook endpoints): http(s) only, no
 * embedded credentials, and no loopback, private, link-local or otherwise non-public address unless
 * the operator allows them (EGRESS_ALLOW_PRIVATE, e.g. a self-hosted WAHA on the same network).
 *
 * Checked twice: on save (`checkEgress`, a friendly 422 for the tenant) and at connect time
 * (`egressLookup`, wired into the HTTP transport's agents, src/core/http-transport.ts, which also
 * checks IP literals and the URL's shape): the name is resolved, every address checked, and the socket
 * connects to the checked address, so a name that is public on save and points at 169.254.169.254
 * later (DNS rebinding), or a URL saved while private addresses were allowed, is refused when it
 * matters (decision 043).
 */

/** Resolves a host name to every address it has (injectable for tests). */
export type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;

/**
 * Name resolution for tenant-supplied and provider hosts, off Node's thread pool (decision 059).
 * `dns.lookup` runs getaddrinfo on libuv's 4 threads and a timed-out request does not free its
 * thread: one tenant's endpoints on a name whose DNS never answers held all four for ~20 s at a
 * time, and every other tenant's delivery (and file and crypto work) queued behind them. Here
 * names go through c-ares on the event loop to the DNS servers of /etc/resolv.conf (or `servers`,
 * EGRESS_DNS_SERVERS), with its `search` list and `ndots` applied as getaddrinfo applies them (c-ares'
 * plain queries do not: `waha` would not find `waha.corp.internal`), and the whole answer bounded by
 * `deadlineMs`; `localhost` and names in /etc/hosts are answered from the file, without a query.
 */
export function createResolve(
  opts: { servers?: readonly string[]; timeoutMs?: number; deadlineMs?: number; hostsFile?: string; resolvConf?: string } = {},
): Resolve {
  // c-ares doubles the timeout on its second try and tries each server in turn; the deadline
  // bounds the sum whatever the number of servers and search domains.
  const resolver = new Resolver({ timeout: opts.timeoutMs ?? 1_000, tries: 2 });
  if (opts.servers && opts.servers.length > 0) resolver.setServers([...opts.servers]);
  const deadlineMs = opts.deadlineMs ?? 4_000;
  const hosts = watchedFile(opts.hostsFile ?? '/etc/hosts', parseHosts, new Map());
  const conf = watchedFile(opts.resolvConf ?? '/etc/resolv.conf', parseResolvConf, { search: [], ndots: 1 });
  const query = async (name: string) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
    const addrs = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
    ];
    return { addrs, err: v4.status === 'rejected' ? (v4.reason as NodeJS.ErrnoException) : undefined };
  };
  return async (host) => {
    const name = host.toLowerCase().replace(/\.$/, '');
    if (isLocalhostName(name)) return [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }];
    const listed = hosts().get(name);
    if (listed) return listed;
    const { search, ndots } = conf();
    const searched = host.endsWith('.') ? [] : search.map((d) => `${name}.${d}`);
    const candidates = name.split('.').length - 1 >= ndots ? [name, ...searched] : [...searched, name];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no DNS answer for ${host} within ${deadlineMs} ms`), { code: 'ETIMEOUT' })), deadlineMs);
    });
    const walk = async () => {
      let first: NodeJS.ErrnoException | undefined;
      for (const candidate of candidates) {
        const { addrs, err } = await query(candidate);
        if (addrs.length > 0) return addrs;
        // A name that does not exist there: the next candidate. Anything else is remembered.
        if (err && err.code !== 'ENOTFOUND' && err.code !== 'ENODATA') first ??= err;
      }
      throw first ?? Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
    };
    try {
      return await Promise.race([walk(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** A small system file parsed when it changes (looked at most every 5 s); `empty` when unreadable. */
function watchedFile<T>(path: string, parse: (text: string) => T, empty: T): () => T {
  let value = empty;
  let mtime = -1;
  let checkedAt = 0;
  return () => {
    const now = Date.now();
    if (now - checkedAt < 5_000) return value;
    checkedAt = now;
    try {
      const m = statSync(path).mtimeMs;
      if (m !== mtime) {
        value = parse(readFileSync(path, 'utf8'));
        mtime = m;
      }
    } catch {
      value = empty;
      mtime = -1;
    }
    return value;
  };
}

/** /etc/hosts: name → its addresses, in file order. */
function parseHosts(text: string): Map<string, { address: string; family: number }[]> {
  const entries = new Map<string, { address: string; family: number }[]>();
  for (const line of text.split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    const family = address ? isIP(address) : 0;
    if (!address || family === 0) continue;
    for (const n of names.map((x) => x.toLowerCase())) entries.set(n, [...(entries.get(n) ?? []), { address, family }]);
  }
  return entries;
}

/** /etc/resolv.conf's search list (`search`, or `domain`; the last line wins, as in glibc) and `ndots`. */
function parseResolvConf(text: string): { search: string[]; ndots: number } {
  let search: string[] = [];
  let ndots = 1;
  for (const line of text.split('\n')) {
    const [key, ...args] = line.replace(/[#;].*/, '').trim().split(/\s+/);
    if (key === 'search' || key === 'domain') search = args.map((d) => d.toLowerCase().replace(/\.$/, '')).filter(Boolean);
    if (key === 'options') {
      for (const o of args) {
        const m = /^ndots:(\d+)$/.exec(o);
        if (m) ndots = Math.min(15, Number(m[1]));
      }
    }
  }
  return { search, ndots };
}

const resolvers = new Map<string, Resolve>();
/** One resolver per server list (the system's when empty), shared by everything in the process. */
export function resolverFor(servers: readonly string[] = []): Resolve {
  const key = servers.join(',');
  let r = resolvers.get(key);
  if (!r) resolvers.set(key, (r = createResolve({ servers })));
  return r;
}
const systemResolve: Resolve = (host) => resolverFor()(host);

/**
 * Non-public ranges: the IANA special-purpose registries (RFC 6890 and updates) minus the few
 * globally reachable anycast blocks nobody runs a webhook receiver on, plus multicast and reserved.
 * For IPv6 only global unicast (2000::/3) is public; addresses that embed an IPv4 address are
 * judged by the IPv4 address (see `embeddedIPv4`).
 */
const V4_RANGES: [string, number][] = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const V6_RANGES: [string, number][] = [
  // Everything outside 2000::/3: unspecified, loopback, IPv4-mapped/compatible (judged by their IPv4
  // first), discard 100::/64, local NAT64 64:ff9b:1::/48, ULA fc00::/7, site-local fec0::/10,
  // link-local fe80::/10, multicast ff00::/8, and the unassigned rest.
  ['::', 3],
  ['4000::', 2],
  ['8000::', 1],
  ['2001::', 23], // IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation (RFC 9637)
];
// Two lists: a BlockList also matches IPv4 addresses against IPv6 rules (as ::ffff:a.b.c.d), and
// ::/3 would then hold every IPv4 address.
let lists: { v4: BlockList; v6: BlockList } | undefined;
function blocked(): { v4: BlockList; v6: BlockList } {
  if (!lists) {
    lists = { v4: new BlockList(), v6: new BlockList() };
    for (const [a, p] of V4_RANGES) lists.v4.addSubnet(a, p, 'ipv4');
    for (const [a, p] of V6_RANGES) lists.v6.addSubnet(a, p, 'ipv6');
  }
  return lists;
}

/** The 16 bytes of a valid IPv6 address (zone id ignored). */
function v6Bytes(ip: string): number[] {
  let s = ip.replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    s = s.slice(0, dotted.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head = '', tail] = s.split('::');
  const parse = (part: string) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  const groups = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/**
 * The IPv4 address an IPv6 address stands for, if it embeds one: IPv4-mapped ::ffff:0:0/96 (Node's
 * URL parser writes [::ffff:127.0.0.1] as [::ffff:7f00:1]), IPv4-translated ::ffff:0:0:0/96,
 * IPv4-compatible ::/96 (:: and ::1 map into 0.0.0.0/8, also refused), NAT64 64:ff9b::/96 and 6to4
 * 2002::/16 — each reaches that IPv4 host through the kernel or a translator on the path.
 */
export function embeddedIPv4(ip: string): string | undefined {
  const b = v6Bytes(ip);
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = (at: number) => b.slice(at, at + 4).join('.');
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12);
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && zero(10, 12)) return v4(12);
  if (zero(0, 12)) return v4(12);
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return v4(12);
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  return undefined;
}

/** True unless `ip` is a public unicast address; anything that is not an IP address counts as internal. */
export function isInternalAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return blocked().v4.check(bare, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIPv4(bare);
  return v4 !== undefined ? blocked().v4.check(v4, 'ipv4') : blocked().v6.check(bare, 'ipv6');
}

const isLocalhostName = (host: string) => /(^|\.)localhost\.?$/i.test(host);
const denied = (what: string) => new AppError('egress_denied', `${what} points at an internal address; the operator can allow that with EGRESS_ALLOW_PRIVATE=true`);

/** The checked addresses of `host` (an IP literal or a name); throws `egress_denied` if any is internal. */
async function checkedAddresses(host: string, what: string, allowPrivate: boolean, resolve: Resolve): Promise<{ address: string; family: number }[]> {
  const family = isIP(host);
  if (family) {
    if (!allowPrivate && isInternalAddress(host)) throw denied(what);
    return [{ address: host, family }];
  }
  if (!allowPrivate && isLocalhostName(host)) throw denied(what);
  const unresolved = (code?: unknown) =>
    new AppError('egress_denied', `${what === `the host ${host}` ? what : `${what}: the host ${host}`} does not resolve${typeof code === 'string' ? ` (${code})` : ''}`);
  let addrs: { address: string; family: number }[];
  try {
    addrs = await resolve(host);
  } catch (err) {
    throw unresolved((err as { code?: unknown } | null)?.code);
  }
  if (addrs.length === 0) throw unresolved();
  if (!allowPrivate && addrs.some((a) => isInternalAddress(a.address))) throw denied(what);
  return addrs;
}

/** The URL's shape under the policy: http(s) only, no embedded credentials (`field` names it in errors). */
export function parseEgressUrl(url: string, field: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AppError('validation_failed', `${field} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new AppError('egress_denied', `${field} must be http or https`);
  if (u.username || u.password) throw new AppError('egress_denied', `${field} must not embed credentials`);
  return u;
}

/** The save-time check: a typed `egress_denied` (422) the tenant sees at once. */
export async function checkEgress(url: string, field: string, allowPrivate: boolean, resolve: Resolve = systemResolve): Promise<void> {
  const u = parseEgressUrl(url, field);
  if (allowPrivate) return;
  await checkedAddresses(u.hostname.replace(/^\[|\]$/g, ''), field, false, resolve);
}

/** `checkEgress` under a deployment's settings (EGRESS_ALLOW_PRIVATE, EGRESS_DNS_SERVERS). */
export const checkEgressUnder = (config: { egressAllowPrivate: boolean; egressDnsServers: readonly string[] }, url: string, field: string): Promise<void> =>
  checkEgress(url, field, config.egressAllowPrivate, resolverFor(config.egressDnsServers));

/**
 * A `lookup` for net/http/tls connect options: resolves, checks every address, and hands the socket
 * only checked addresses, so what was checked is what is connected to. Node skips `lookup` for IP
 * literals; the transport (src/core/http-transport.ts) checks those itself before connecting.
 */
export function egressLookup(allowPrivate: boolean, resolve: Resolve = systemResolve): LookupFunction {
  return (hostname, options, callback) => {
    checkedAddresses(hostname, `the host ${hostname}`, allowPrivate, resolve).then(
      (addrs) => {
        const wanted = options.family === 4 || options.family === 6 ? addrs.filter((a) => a.family === options.family) : addrs;
        if (wanted.length === 0) return callback(Object.assign(new Error(`${hostname} has no IPv${options.family} address`), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) return (callback as unknown as (e: null, a: typeof wanted) => void)(null, wanted);
        callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };
}
