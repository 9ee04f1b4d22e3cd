import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Shared plumbing for the provider simulators: a real HTTP server on 127.0.0.1 that records every
 * request, routes by method + path pattern, and can be told to fail (status, body, Retry-After,
 * delay, hang) for the next N matching requests. Each provider's `simulator.ts` supplies the routes
 * and the provider's own validation; this file knows nothing about any vendor.
 */

export interface SimRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
  body: Buffer;
  /** Parsed JSON body when the content type is JSON and it parses; else undefined. */
  json: unknown;
  /** Parsed form fields for application/x-www-form-urlencoded bodies. */
  form: Record<string, string> | undefined;
  /** ms since epoch when the request arrived. */
  at: number;
}

export interface SimResponse {
  status: number;
  json?: unknown;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

export type SimHandler = (req: SimRequest) => SimResponse | Promise<SimResponse>;

export interface SimRoute {
  method: string;
  /** Path pattern with `:name` segments, e.g. `/:version/:phoneNumberId/messages`. */
  path: string;
  handler: SimHandler;
}

export interface FaultRule {
  /** Only requests whose path matches (substring or RegExp) are affected; all when absent. */
  path?: string | RegExp;
  method?: string;
  /** How many matching requests fail; Infinity until cleared. Default 1. */
  times?: number;
  /** Answer with this instead of the real handler. */
  response?: SimResponse;
  /** Wait before answering (or before the real handler). */
  delayMs?: number;
  /** Never answer (the client times out); the socket is destroyed on close(). */
  hang?: boolean;
}

interface CompiledRoute extends SimRoute {
  regex: RegExp;
  names: string[];
}

function compile(route: SimRoute): CompiledRoute {
  const names: string[] = [];
  const pattern = route.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { ...route, regex: new RegExp(`^${pattern}$`), names };
}

export class SimServer {
  readonly received: SimRequest[] = [];
  private readonly routes: CompiledRoute[];
  private faults: (FaultRule & { left: number })[] = [];
  private server: http.Server | undefined;
  private readonly sockets = new Set<import('node:net').Socket>();
  private baseUrl = '';

  constructor(routes: SimRoute[], private readonly notFound: SimHandler = () => ({ status: 404, json: { error: 'not found' } })) {
    this.routes = routes.map(compile);
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('simulator not listening');
    return this.baseUrl;
  }

  async listen(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject); // a port in use is an error to report, not a crash
      this.server!.listen(port, '127.0.0.1', () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${addr.port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  injectFault(rule: FaultRule): void {
    this.faults.push({ ...rule, left: rule.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Requests received on a path matching `path` (substring or RegExp). */
  requests(path?: string | RegExp): SimRequest[] {
    return path === undefined ? this.received : this.received.filter((r) => matches(path, r.path));
  }

  private takeFault(method: string, path: string): FaultRule | undefined {
    const i = this.faults.findIndex(
      (f) => f.left > 0 && (!f.method || f.method === method) && (!f.path || matches(f.path, path)),
    );
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.left -= 1;
    if (f.left <= 0) this.faults.splice(i, 1);
    return f;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://sim');
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const contentType = headers['content-type'] ?? '';
    let json: unknown;
    let form: Record<string, string> | undefined;
    if (contentType.includes('json')) {
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        json = undefined;
      }
    } else if (contentType.includes('x-www-form-urlencoded')) {
      form = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
    }
    const sreq: SimRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      params: {},
      query: Object.fromEntries(url.searchParams),
      headers,
      body,
      json,
      form,
      at: Date.now(),
    };
    this.received.push(sreq);

    let response: SimResponse;
    try {
      const fault = this.takeFault(sreq.method, sreq.path);
      if (fault?.hang) return; // leave the socket open: the client's timeout fires
      if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault?.response) response = fault.response;
      else response = await this.dispatch(sreq);
    } catch (err) {
      response = { status: 500, json: { error: 'simulator error', message: String(err) } };
    }
    send(res, response);
  }

  private dispatch(req: SimRequest): SimResponse | Promise<SimResponse> {
    for (const r of this.routes) {
      if (r.method !== req.method) continue;
      const m = r.regex.exec(req.path);
      if (!m) continue;
      r.names.forEach((name, i) => (req.params[name] = decodeURIComponent(m[i + 1] ?? '')));
      return r.handler(req);
    }
    return this.notFound(req);
  }
}

function matches(pattern: string | RegExp, path: string): boolean {
  return typeof pattern === 'string' ? path.includes(pattern) : pattern.test(path);
}

function send(res: http.ServerResponse, r: SimResponse): void {
  const headers: Record<string, string> = { ...r.headers };
  let payload: Buffer | string = '';
  if (r.json !== undefined) {
    payload = JSON.stringify(r.json);
    headers['content-type'] ??= 'application/json';
  } else if (r.body !== undefined) {
    payload = r.body;
  }
  res.writeHead(r.status, headers);
  res.end(payload);
}

/** Posts a webhook body (already serialised, so the signature matches the bytes) to a URL. */
export async function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, text: await res.text() };
}

/**
 * Events per key within the last `windowMs`, in O(1) amortised per call: the simulators' rate
 * checks used to filter the whole `sent` log on every send, which at 50,000 messages made the
 * simulator, not Switchboard, the bottleneck of a delivery benchmark.
 */
export class SlidingWindows {
  private readonly times = new Map<string, { at: number[]; head: number }>();
  constructor(private readonly windowMs: number) {}

  /** Events of `key` after `now - windowMs` (the window is open at its start, like `at > now - w`). */
  count(key: string, now: number): number {
    const w = this.times.get(key);
    if (!w) return 0;
    while (w.head < w.at.length && w.at[w.head]! <= now - this.windowMs) w.head++;
    if (w.head > 1024 && w.head * 2 > w.at.length) {
      w.at = w.at.slice(w.head);
      w.head = 0;
    }
    return w.at.length - w.head;
  }

  add(key: string, at: number): void {
    const w = this.times.get(key);
    if (w) w.at.push(at);
    else this.times.set(key, { at: [at], head: 0 });
  }
}
