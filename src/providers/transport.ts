import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { AppError } from '../core/errors.js';
import { egressLookup, isInternalAddress } from '../core/egress.js';

/**
 * The HTTP transport of provider calls: `node:http` over keep-alive agents, bodies as buffers.
 *
 * Why not `fetch`: on the delivery bench one provider call through Node 20's fetch (undici's WHATWG
 * layer: Request/Headers objects, an AbortSignal and a timer per call, web streams for the body)
 * cost more CPU than everything else the scheduler does for a message, and a fifth of the process's
 * time went to garbage collection. `fetch` stays for what needs it (multipart uploads built as
 * FormData, tenant webhook deliveries) and for tests that inject their own.
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
  bytes: Buffer;
}

export type HttpRequest = (req: TransportRequest) => Promise<TransportResponse>;

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

/**
 * A transport with its own agents (at most `maxSockets` connections per origin, kept alive between
 * calls). `close()` destroys idle connections so a stopping process is not held open.
 * `allowPrivate: false` applies the egress policy where it cannot be undone (decision 043): provider
 * base URLs are tenant credentials, checked when saved, and here again on the address each new
 * connection goes to — a name that later resolves to an internal address (DNS rebinding) or a line
 * saved under an older policy gets `egress_denied`, not a request.
 */
export function createHttpTransport(opts: { maxSockets?: number; allowPrivate?: boolean } = {}): { request: HttpRequest; close(): void } {
  const checked = opts.allowPrivate === false;
  const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 256, scheduling: 'lifo' as const, ...(checked ? { lookup: egressLookup(false) } : {}) };
  const agents = { 'http:': new http.Agent(agentOpts), 'https:': new https.Agent(agentOpts) };
  const request: HttpRequest = (r) =>
    new Promise((resolve, reject) => {
      let u: URL;
      try {
        u = new URL(r.url);
      } catch (err) {
        return reject(err);
      }
      const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
      if (!mod) return reject(new TypeError(`unsupported protocol ${u.protocol}`));
      // Node skips `lookup` for an IP literal: checked here instead.
      const literal = u.hostname.replace(/^\[|\]$/g, '');
      if (checked && isIP(literal) && isInternalAddress(literal)) {
        return reject(new AppError('egress_denied', `the host ${literal} is an internal address; the operator can allow that with EGRESS_ALLOW_PRIVATE=true`));
      }
      const body = r.body === undefined ? undefined : typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
      const headers: Record<string, string | number> = { ...r.headers };
      if (body) headers['content-length'] = body.length;
      const req = mod.request(u, { method: r.method, headers, agent: agents[u.protocol as 'http:' | 'https:'] }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: new RawHeaders(res.headers), bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      // One timer for the whole exchange (connect, answer and body), like AbortSignal.timeout.
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
