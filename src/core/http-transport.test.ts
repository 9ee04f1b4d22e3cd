import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { checkEgress, type Resolve } from './egress.js';
import { AppError, ProviderError } from './errors.js';
import { silentLogger, systemClock } from './runtime.js';
import { providerRequest } from '../providers/http.js';
import { createHttpTransport, DRAIN_MAX_BYTES, type HttpTransport } from './http-transport.js';
import type { ProviderDeps } from '../providers/types.js';

/** A provider / webhook receiver stand-in: answers, hangs, redirects, or drops the connection mid-answer. */
let server: http.Server;
let base = '';
let connections = 0;
/** The server side of every connection not yet closed. */
const open = new Set<Socket>();
const bodies: string[] = [];
const hits: http.IncomingHttpHeaders[] = [];
/** The connection each request came on, in order. */
const served: Socket[] = [];
before(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString());
      hits.push(req.headers);
      served.push(req.socket);
      if (req.url === '/ok') {
        res.writeHead(201, { 'content-type': 'application/json', 'retry-after': '7', 'x-multi': ['a', 'b'] });
        res.end(JSON.stringify({ ok: true, method: req.method, auth: req.headers.authorization ?? null }));
      } else if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let i = 0; i < 64; i++) res.write(Buffer.alloc(16 * 1024, i));
        res.end();
      } else if (req.url === '/drop') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"partial":');
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (req.url === '/text') {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('upstream broke');
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: `${base}/ok` }).end();
      }
      // '/hang': never answers.
    });
  });
  server.on('connection', (s: Socket) => {
    connections += 1;
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

describe('node:http transport', () => {
  it('returns status, headers and the whole body; reuses the connection', async () => {
    const t = createHttpTransport();
    try {
      const before = connections;
      const r = await t.request({ method: 'POST', url: `${base}/ok`, headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, body: '{"a":1}', timeoutMs: 2000 });
      assert.equal(r.status, 201);
      assert.equal(r.headers.get('Retry-After'), '7');
      assert.equal(r.headers.get('x-multi'), 'a, b');
      assert.equal(r.headers.get('absent'), null);
      assert.deepEqual(JSON.parse(r.bytes.toString()), { ok: true, method: 'POST', auth: 'Bearer x' });
      assert.equal(bodies.at(-1), '{"a":1}');
      const big = await t.request({ method: 'GET', url: `${base}/big`, timeoutMs: 2000 });
      assert.equal(big.bytes.length, 64 * 16 * 1024);
      assert.equal(big.bytes[16 * 1024 * 63], 63);
      assert.equal(connections - before, 1, 'keep-alive: one connection for both calls');
    } finally {
      t.close();
    }
  });

  it('fails like fetch: TimeoutError after the timeout, connection errors, mid-answer drops', async () => {
    const t = createHttpTransport();
    try {
      const t0 = Date.now();
      await assert.rejects(t.request({ method: 'GET', url: `${base}/hang`, timeoutMs: 150 }), (e: Error) => e.name === 'TimeoutError');
      assert.ok(Date.now() - t0 < 1000);
      await assert.rejects(t.request({ method: 'GET', url: 'http://127.0.0.1:1/x', timeoutMs: 1000 }), (e: { code?: string }) => e.code === 'ECONNREFUSED');
      await assert.rejects(t.request({ method: 'GET', url: `${base}/drop`, timeoutMs: 2000 }));
      await assert.rejects(t.request({ method: 'GET', url: 'ftp://127.0.0.1/x', timeoutMs: 1000 }), (e: AppError) => e.code === 'egress_denied' && /http or https/.test(e.message));
    } finally {
      t.close();
    }
  });
});

describe('node:http transport under the egress policy', () => {
  it('allowPrivate false: an internal address, literal or by name, gets egress_denied and no request; true reaches it', async () => {
    const checked = createHttpTransport({ allowPrivate: false });
    const open = createHttpTransport({ allowPrivate: true });
    try {
      const port = new URL(base).port;
      const before = connections;
      for (const url of [`${base}/ok`, `http://[::ffff:127.0.0.1]:${port}/ok`, `http://localhost:${port}/ok`]) {
        await assert.rejects(checked.request({ method: 'GET', url, timeoutMs: 1000 }), (e: { code?: string }) => e.code === 'egress_denied', url);
      }
      assert.equal(connections, before, 'no connection was made');
      const deps: ProviderDeps = { fetch: globalThis.fetch, request: checked.request, logger: silentLogger, clock: systemClock, timeoutMs: 1000 };
      await assert.rejects(providerRequest(deps, { method: 'GET', url: `${base}/ok` }), (e: ProviderError) => e instanceof ProviderError && e.kind === 'unavailable' && !e.retryable && /EGRESS_ALLOW_PRIVATE/.test(e.message));
      assert.equal((await open.request({ method: 'GET', url: `${base}/ok`, timeoutMs: 1000 })).status, 201);
    } finally {
      checked.close();
      open.close();
    }
  });
});

describe('connect-time egress checks (decision 043)', () => {
  const isDenied = (err: unknown) => err instanceof AppError && err.code === 'egress_denied';
  const toLoopback: Resolve = async () => [{ address: '127.0.0.1', family: 4 }];
  const port = () => new URL(base).port;
  /** One POST as a delivery makes it, on a fresh transport under the given policy. */
  const post = async (url: string, allowPrivate: boolean, resolve?: Resolve) => {
    const t = createHttpTransport({ allowPrivate, maxBodyBytes: 0, ...(resolve ? { resolve } : {}) });
    try {
      return await t.request({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 2000 });
    } finally {
      t.close();
    }
  };

  it('a name that resolves to loopback at connect time is refused before any request is sent', async () => {
    hits.length = 0;
    await assert.rejects(post(`http://rebind.test:${port()}/ok`, false, toLoopback), isDenied);
    assert.equal(hits.length, 0);
  });
  it('DNS rebinding: public when saved, loopback when connecting → refused', async () => {
    hits.length = 0;
    let calls = 0;
    const rebinding: Resolve = async () => (calls++ === 0 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
    await checkEgress(`http://rebind.test:${port()}/ok`, 'url', false, rebinding);
    await assert.rejects(post(`http://rebind.test:${port()}/ok`, false, rebinding), isDenied);
    assert.equal(calls, 2);
    assert.equal(hits.length, 0);
  });
  it('internal IP literals (IPv4-mapped too) and embedded credentials are refused, whatever the policy for the latter', async () => {
    hits.length = 0;
    await assert.rejects(post(`http://[::ffff:127.0.0.1]:${port()}/ok`, false), isDenied);
    await assert.rejects(post(`http://127.0.0.1:${port()}/ok`, false), isDenied);
    await assert.rejects(post(`http://user:pw@127.0.0.1:${port()}/ok`, true), (e: AppError) => isDenied(e) && /credentials/.test(e.message));
    assert.equal(hits.length, 0);
  });
  it('allowed: connects to the checked address and keeps the Host header; headers readable', async () => {
    hits.length = 0;
    const res = await post(`http://rebind.test:${port()}/ok`, true, toLoopback);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('Retry-After'), '7');
    assert.equal(hits.length, 1);
    assert.equal(hits[0]!.host, `rebind.test:${port()}`);
  });
  it('does not follow redirects: a 3xx is the answer', async () => {
    hits.length = 0;
    const res = await post(`${base}/redirect`, true);
    assert.equal(res.status, 302);
    assert.equal(hits.length, 1);
  });
});

/** Resolves when none of `sockets` (server side) is open any more; fails after `ms`. */
async function closed(sockets: Socket[], ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (sockets.some((s) => open.has(s))) {
    if (Date.now() > until) assert.fail(`${sockets.filter((s) => open.has(s)).length} connection(s) still open after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
/** Makes one GET and returns the answer and the connection (server side) it came on. */
async function get(t: HttpTransport, path: string) {
  const n = served.length;
  const res = await t.request({ method: 'GET', url: `${base}${path}`, timeoutMs: 2000 });
  assert.equal(served.length, n + 1);
  return { res, socket: served[n]! };
}

describe('response body cap (maxBodyBytes)', () => {
  it('past the cap: the connection is closed, the answer keeps its status and headers and the start of the body, truncated', async () => {
    const t = createHttpTransport({ maxBodyBytes: 40_000 });
    try {
      const { res, socket } = await get(t, '/big');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      assert.equal(res.truncated, true);
      assert.equal(res.bytes.length, 40_000);
      assert.equal(res.bytes[16 * 1024 * 2], 2);
      await closed([socket]);
      // Under the cap: the whole body, not truncated.
      const ok = await t.request({ method: 'GET', url: `${base}/ok`, timeoutMs: 2000 });
      assert.deepEqual([ok.status, ok.truncated, JSON.parse(ok.bytes.toString()).ok], [201, false, true]);
    } finally {
      t.close();
    }
  });

  it('0 (deliveries): resolves on the head with no body; a small body is drained and the connection reused, a large one closes it', async () => {
    const t = createHttpTransport({ maxBodyBytes: 0 });
    try {
      const first = await get(t, '/ok');
      assert.deepEqual([first.res.status, first.res.bytes.length, first.res.truncated], [201, 0, false]);
      await new Promise((r) => setTimeout(r, 20)); // the drain finishes behind the answer
      const second = await get(t, '/ok');
      assert.equal(second.socket, first.socket, 'keep-alive: the drained connection was reused');
      assert.ok(64 * 16 * 1024 > DRAIN_MAX_BYTES);
      const big = await get(t, '/big');
      assert.deepEqual([big.res.status, big.res.bytes.length], [200, 0]);
      await closed([big.socket]);
    } finally {
      t.close();
    }
  });

  it('providerRequest refuses a truncated answer: non-retryable, never half a body', async () => {
    const t = createHttpTransport({ maxBodyBytes: 1000 });
    try {
      const deps: ProviderDeps = { fetch: globalThis.fetch, request: t.request, logger: silentLogger, clock: systemClock, timeoutMs: 2000 };
      await assert.rejects(providerRequest(deps, { method: 'GET', url: `${base}/big` }), (e: ProviderError) => e instanceof ProviderError && e.kind === 'unavailable' && !e.retryable && /larger than 1000 bytes/.test(e.message));
      assert.equal((await providerRequest(deps, { method: 'GET', url: `${base}/ok` })).status, 201);
    } finally {
      t.close();
    }
  });
});

describe('keep-alive idle timeout and close()', () => {
  it('timeout: an idle connection is closed after it; without one it stays open', async () => {
    const short = createHttpTransport({ timeout: 150 });
    const plain = createHttpTransport();
    try {
      const a = (await get(short, '/ok')).socket;
      const b = (await get(plain, '/ok')).socket;
      const t0 = Date.now();
      await closed([a]);
      assert.ok(Date.now() - t0 >= 100, `closed after ${Date.now() - t0} ms`);
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(open.has(b), 'no timeout: the idle connection is kept');
    } finally {
      short.close();
      plain.close();
    }
  });

  it('close() destroys idle and in-use connections', async () => {
    const t = createHttpTransport({ maxBodyBytes: 0, timeout: 4_000 });
    const n = served.length;
    const hanging = t.request({ method: 'GET', url: `${base}/hang`, timeoutMs: 5000 });
    hanging.catch(() => undefined);
    while (served.length === n) await new Promise((r) => setTimeout(r, 10));
    const inUse = served[n]!;
    const idle = (await get(t, '/ok')).socket;
    assert.notEqual(idle, inUse);
    t.close();
    await assert.rejects(hanging, (e: Error) => e.name !== 'TimeoutError');
    await closed([idle, inUse]);
  });
});

describe('providerRequest over the transport and over fetch', () => {
  const t = createHttpTransport();
  after(() => t.close());
  const paths: [string, ProviderDeps][] = [
    ['transport', { fetch: globalThis.fetch, request: t.request, logger: silentLogger, clock: systemClock, timeoutMs: 200 }],
    ['fetch', { fetch: globalThis.fetch, logger: silentLogger, clock: systemClock, timeoutMs: 200 }],
  ];
  for (const [name, deps] of paths) {
    it(`${name}: answers parsed, failures typed and retryable`, async () => {
      const ok = await providerRequest(deps, { method: 'POST', url: `${base}/ok`, body: 'x' });
      assert.equal(ok.status, 201);
      assert.deepEqual(ok.json, { ok: true, method: 'POST', auth: null });
      assert.equal(ok.headers.get('retry-after'), '7');
      const text = await providerRequest(deps, { method: 'GET', url: `${base}/text` });
      assert.deepEqual([text.status, text.text, text.json], [500, 'upstream broke', undefined]);
      const kind = async (url: string) => {
        const e = await providerRequest(deps, { method: 'GET', url }).then(() => undefined, (err: unknown) => err);
        assert.ok(e instanceof ProviderError, `${url}: ${String(e)}`);
        assert.equal(e.retryable, true);
        return e.kind;
      };
      assert.equal(await kind(`${base}/hang`), 'timeout');
      assert.equal(await kind('http://127.0.0.1:1/x'), 'unavailable');
      assert.equal(await kind(`${base}/drop`), 'unavailable');
    });
  }

  it('multipart bodies (FormData) go through fetch even when a transport is set', async () => {
    let viaTransport = 0;
    const deps: ProviderDeps = { ...paths[0]![1], request: (r) => (viaTransport++, t.request(r)) };
    const form = new FormData();
    form.set('file', new Blob(['hello']), 'a.txt');
    const r = await providerRequest(deps, { method: 'POST', url: `${base}/ok`, body: form });
    assert.equal(r.status, 201);
    assert.match(bodies.at(-1)!, /hello/);
    assert.equal(viaTransport, 0);
    await providerRequest(deps, { method: 'POST', url: `${base}/ok`, body: '{}' });
    assert.equal(viaTransport, 1);
  });
});
