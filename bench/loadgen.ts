/**
 * The benchmarks' load generator: HTTP/1.1 over raw keep-alive sockets, one request in flight per
 * connection. Node's own `http` client costs ~3x the CPU per request of what it drives on a bare
 * route; on a 2-core machine that CPU is taken from the server being measured, so a cheap client
 * (like wrk or pgbench's C client) is what makes the comparison with pgbench fair. Requests are
 * built as one buffer each; responses are read only as far as status line and Content-Length.
 */
import net from 'node:net';

export interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface LoadResult {
  requests: number;
  ok: number;
  /** Answers by status code. */
  statuses: Record<number, number>;
  seconds: number;
  latenciesMs: number[];
}

export function encode(host: string, r: Req): Buffer {
  const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
  let head = `${r.method} ${r.path} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const [k, v] of Object.entries(r.headers)) head += `${k}: ${v}\r\n`;
  if (body) head += `content-length: ${body.length}\r\n`;
  head += '\r\n';
  return body ? Buffer.concat([Buffer.from(head), body]) : Buffer.from(head);
}

interface Answer {
  status: number;
  body: Buffer;
}

/** One keep-alive connection; `send` resolves with the next complete response. */
export class Conn {
  private sock: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void } | undefined;
  private closed: Error | undefined;
  readonly ready: Promise<void>;

  constructor(readonly port: number, readonly host = '127.0.0.1') {
    this.sock = net.connect({ port, host, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.sock.once('connect', () => resolve());
      this.sock.once('error', reject);
    });
    this.sock.on('data', (c: Buffer) => {
      this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
      this.parse();
    });
    const fail = (err: Error) => {
      this.closed = err;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(err);
    };
    this.sock.on('error', fail);
    this.sock.on('close', () => fail(new Error('connection closed')));
  }

  /** False once the socket closed or failed (a server closes keep-alive connections idle too long). */
  get open(): boolean {
    return this.closed === undefined;
  }

  send(request: Buffer): Promise<Answer> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.sock.write(request);
    });
  }

  private parse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buf.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let bodyStart = end + 4;
    let body: Buffer;
    if (m) {
      const len = Number(m[1]);
      if (this.buf.length < bodyStart + len) return;
      body = this.buf.subarray(bodyStart, bodyStart + len);
      bodyStart += len;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const term = this.buf.indexOf('0\r\n\r\n', bodyStart);
      if (term < 0) return;
      body = dechunk(this.buf.subarray(bodyStart, term + 5));
      bodyStart = term + 5;
    } else {
      body = Buffer.alloc(0);
    }
    this.buf = this.buf.subarray(bodyStart);
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve({ status, body });
  }

  close(): void {
    this.sock.destroy();
  }
}

function dechunk(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  for (;;) {
    const nl = b.indexOf('\r\n', i);
    const size = parseInt(b.subarray(i, nl).toString('latin1'), 16);
    if (!size) break;
    parts.push(b.subarray(nl + 2, nl + 2 + size));
    i = nl + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * `n` requests encoded ahead of time, then `make()`'s as they are needed: a load generator that
 * signs and serialises while it measures takes that CPU from the server on a 2-core machine.
 */
export function pregenerated(n: number, make: () => Req): () => Buffer {
  const ready = Array.from({ length: n }, () => encode('127.0.0.1', make()));
  let i = 0;
  return () => (i < ready.length ? ready[i++]! : encode('127.0.0.1', make()));
}

/** Keeps `concurrency` requests in flight (one per connection) for `ms`. */
export async function closedLoop(port: number, make: () => Req | Buffer, concurrency: number, ms: number, okStatus: number): Promise<LoadResult> {
  const conns = Array.from({ length: concurrency }, () => new Conn(port));
  await Promise.all(conns.map((c) => c.ready));
  const lat: number[] = [];
  const statuses: Record<number, number> = {};
  let ok = 0;
  let requests = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    conns.map(async (c) => {
      while (performance.now() < end) {
        const next = make();
        const req = Buffer.isBuffer(next) ? next : encode('127.0.0.1', next);
        const start = performance.now();
        const a = await c.send(req);
        requests += 1;
        statuses[a.status] = (statuses[a.status] ?? 0) + 1;
        if (a.status === okStatus) {
          ok += 1;
          lat.push(performance.now() - start);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  for (const c of conns) c.close();
  return { requests, ok, statuses, seconds, latenciesMs: lat };
}

/**
 * A pool of connections for open-loop load: `send` takes a free connection, opens another while
 * fewer than `max` exist, and otherwise waits for one to come free — arrivals never wait for
 * earlier answers unless `max` are outstanding, and that wait counts in the caller's latency (it
 * times from before `send`). Unbounded, a stall made the generator open thousands of connections,
 * which the server's listen backlog answered with resets.
 */
export class ConnPool {
  private free: Conn[] = [];
  private all: Conn[] = [];
  private waiting: ((c: Conn) => void)[] = [];
  constructor(private readonly port: number, readonly max = 256) {}

  private async acquire(): Promise<Conn> {
    // A free connection the server has closed meanwhile (idle past its keep-alive timeout) is
    // dropped, not handed out to fail its request.
    for (let c = this.free.pop(); c; c = this.free.pop()) {
      if (c.open) return c;
      this.all.splice(this.all.indexOf(c), 1);
    }
    if (this.all.length < this.max) {
      const n = new Conn(this.port);
      this.all.push(n);
      await n.ready;
      return n;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Opens `n` connections ahead of a timed phase, so connection set-up is not measured as latency. */
  async warm(n: number): Promise<void> {
    const conns = await Promise.all(Array.from({ length: n }, () => this.acquire()));
    for (const c of conns) this.release(c);
  }

  private release(c: Conn): void {
    const w = this.waiting.shift();
    if (w) w(c);
    else this.free.push(c);
  }

  async send(r: Req | Buffer): Promise<Answer> {
    const c = await this.acquire();
    try {
      const a = await c.send(Buffer.isBuffer(r) ? r : encode('127.0.0.1', r));
      this.release(c);
      return a;
    } catch (err) {
      c.close();
      this.all.splice(this.all.indexOf(c), 1);
      const w = this.waiting.shift();
      if (w) void this.acquire().then(w);
      throw err;
    }
  }

  close(): void {
    for (const c of this.all) c.close();
  }
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
