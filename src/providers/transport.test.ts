import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderError } from '../core/errors.js';
import { silentLogger, systemClock } from '../core/runtime.js';
import { providerRequest } from './http.js';
import { createHttpTransport } from './transport.js';
import type { ProviderDeps } from './types.js';

/** A provider stand-in: answers, hangs, or drops the connection mid-answer. */
let server: http.Server;
let base = '';
let connections = 0;
const bodies: string[] = [];
before(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString());
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
      }
      // '/hang': never answers.
    });
  });
  server.on('connection', () => (connections += 1));
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
      await assert.rejects(t.request({ method: 'GET', url: 'ftp://127.0.0.1/x', timeoutMs: 1000 }), /unsupported protocol/);
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
