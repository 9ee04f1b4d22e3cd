/**
 * Every open event stream reads on each wake-up of its tenant, through the pool all tenants share:
 * 300 streams of one tenant slowed another tenant's API from 7 ms to 650 ms p50 (review of
 * 2026-12-01). A tenant may hold SSE_MAX_STREAMS_PER_TENANT streams in one process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../support/app.js';
import { closeApp, sseClient, until, type SseStream } from './support.js';

describe('event streams per tenant', () => {
  let t: TestApp;
  let port = 0;
  before(async () => {
    t = await startTestApp({ SSE_MAX_STREAMS_PER_TENANT: '2' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(() => closeApp(t));

  const refused = (key: string) => new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/v1/events/stream', headers: { authorization: `Bearer ${key}` } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
    }).on('error', reject);
  });

  it('a tenant past its cap gets 429 with Retry-After; other tenants are unaffected; a closed stream frees its place', async () => {
    const a = await t.tenant();
    const b = await t.tenant();
    const held: SseStream[] = [await sseClient(port, a.key), await sseClient(port, a.key)];
    const third = await refused(a.key);
    assert.equal(third.status, 429, third.body);
    assert.equal(third.retryAfter, '10');
    assert.match(JSON.parse(third.body).detail, /already has 2 event streams open/);
    const other = await sseClient(port, b.key);
    held[0]!.close();
    let again: SseStream | undefined;
    await until('a place is free again', async () => {
      again ??= await sseClient(port, a.key).catch(() => undefined);
      return again !== undefined;
    });
    for (const s of [held[1]!, other, again!]) s.close();
  });
});
