import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { AppError } from './errors.js';
import { egressLookup, isInternalAddress, parseEgressUrl, type Resolve } from './egress.js';

/**
 * The one outbound HTTP transport: provider calls and tenant webhook deliveries, `node:http(s)`
 * over keep-alive agents, bodies as buffers.
 *
 * Why not `fetch`: on the delivery bench one provider call through Node 20's fetch (undici's WHATWG
 * layer: Request/Headers objects, an AbortSignal and a timer per call, web streams for the body)
 * cost more CPU than everything else the scheduler does for a message, and a fifth of the process's
 * time went to garbage collection (decision 007). `fetch` stays for multipart uploads built as
 * FormData and for tests that inject their own. Deliveries need what fetch cannot give without
 * undici's Agent: the address connected to checked by the egress policy (decision 043).
 */
export interface TransportRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
}

export interface TransportResponse {
  status: number;
  headers: { get(name: string): string | null };
  /** The body: all of it, its first `maxBodyBytes` when `truncated`, empty with `maxBodyBytes: 0`. */
  bytes: Buffer;
  /** The body went past `maxBodyBytes`: the connection was closed there and `bytes` is its start. */
  truncated: boolean;
}

export type HttpRequest = (req: TransportRequest) => Promise<TransportResponse>;

export interface HttpTransport {
  request: HttpRequest;
  /** Destroys the agents' connections, idle and in use, so a stopping process is not held open. */
  close(): void;
}

export interface TransportOptions {
  /** Connections per origin (default 256), reused LIFO so idle ones age out. */
  maxSockets?: number;
  /**
   * `false` applies the egress policy where it cannot be undone: every new connection goes only to
   * addresses `egressLookup` checked, and IP literals are checked before the request; an internal
   * address gets `egress_denied` before any byte is sent. `true` or unset: no address check.
   */
  allowPrivate?: boolean;
  /** Idle keep-alive sockets are closed after this many ms (default: kept until the server closes them). */
  timeout?: number;
  /**
   * The most body bytes read per answer (default 128 MiB, DEFAULT_MAX_BODY_BYTES). Past it the
   * connection is closed and the answer comes back with what was read and `truncated: true`.
   * `0`: no body is wanted (webhook deliveries): the call resolves on the response head with empty
   * `bytes`, and the body is read and dropped behind it so the connection can be reused — past
   * DRAIN_MAX_BYTES the connection is closed instead.
   */
  maxBodyBytes?: number;
  /** Name resolution for the egress check (tests); when given it is used even with `allowPrivate: true`. */
  resolve?: Resolve;
}

/**
 * Above the largest file a provider serves us through the transport (Cloud API media downloads:
 * documents up to 100 MB) and far above any JSON answer, so it never cuts a legitimate answer; it
 * only stops a misbehaving server from making us buffer without bound.
 */
export const DEFAULT_MAX_BODY_BYTES = 128 * 1024 * 1024;

/** With `maxBodyBytes: 0`, a body up to this size is drained to keep the connection reusable. */
export const DRAIN_MAX_BYTES = 64 * 1024;

/** Errors shaped like fetch's, so callers classify both the same way. */
function timeoutError(ms: number): Error {
  const e = new Error(`no answer within ${ms} ms`);
  e.name = 'TimeoutError';
  return e;
}

class RawHeaders {
  constructor(private readonly h: http.IncomingHttpHeaders) {}
  get(name: string): string | null {
    const v = this.h[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * A transport with its own agents. URLs must be http(s) without embedded credentials (the egress
 * policy's shape rules, applied whatever `allowPrivate` says). Redirects are never followed: a 3xx
 * is the answer. The Host header and TLS server name are the URL's host, also when the egress check
 * pinned the connection to a resolved address. One timer covers the whole exchange (connect,
 * answer, body — also a body drained after resolving), like AbortSignal.timeout; it rejects with a
 * `TimeoutError`.
 */
export function createHttpTransport(opts: TransportOptions = {}): HttpTransport {
  const checked = opts.allowPrivate === false;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const agentOpts: https.AgentOptions = {
    keepAlive: true,
    maxSockets: opts.maxSockets ?? 256,
    scheduling: 'lifo',
    ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
    // A pooled socket was checked when it connected, under this transport's policy.
    ...(checked || opts.resolve ? { lookup: egressLookup(!checked, opts.resolve) } : {}),
  };
  const agents = { 'http:': new http.Agent(agentOpts), 'https:': new https.Agent(agentOpts) };
  const request: HttpRequest = (r) =>
    new Promise((resolve, reject) => {
      let u: URL;
      try {
        u = parseEgressUrl(r.url, 'url');
      } catch (err) {
        return reject(err);
      }
      // Node skips `lookup` for an IP literal: checked here instead.
      const literal = u.hostname.replace(/^\[|\]$/g, '');
      if (checked && isIP(literal) && isInternalAddress(literal)) {
        return reject(new AppError('egress_denied', `the host ${literal} is an internal address; the operator can allow that with EGRESS_ALLOW_PRIVATE=true`));
      }
      const mod = u.protocol === 'https:' ? https : http;
      const body = r.body === undefined ? undefined : typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
      const headers: Record<string, string | number> = { ...r.headers };
      if (body) headers['content-length'] = body.length;
      const req = mod.request(u, { method: r.method, headers, agent: agents[u.protocol as 'http:' | 'https:'] }, (res) => {
        const status = res.statusCode ?? 0;
        const resHeaders = new RawHeaders(res.headers);
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        if (maxBody === 0) {
          resolve({ status, headers: resHeaders, bytes: EMPTY, truncated: false });
          let seen = 0;
          res.on('data', (c: Buffer) => {
            if ((seen += c.length) > DRAIN_MAX_BYTES) res.destroy();
          });
          res.on('close', () => clearTimeout(timer));
          return;
        }
        const chunks: Buffer[] = [];
        let seen = 0;
        res.on('data', (c: Buffer) => {
          if (seen + c.length <= maxBody) {
            chunks.push(c);
            seen += c.length;
            return;
          }
          chunks.push(c.subarray(0, maxBody - seen));
          clearTimeout(timer);
          res.destroy();
          resolve({ status, headers: resHeaders, bytes: Buffer.concat(chunks), truncated: true });
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status, headers: resHeaders, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), truncated: false });
        });
      });
      const timer = setTimeout(() => req.destroy(timeoutError(r.timeoutMs)), r.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
  return {
    request,
    close: () => {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
