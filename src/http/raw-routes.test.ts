/**
 * The raw routes' failure answers (decision 036) against the app's own error handler: the same
 * thrown value gives the same status, headers and problem document, and the same log line, over
 * real HTTP on both sides. The webhook route's own cases (signature, routing, limits) are in
 * test/inbound/raw-route.test.ts; these are the ones a webhook meets only when something else is
 * wrong — the database down (503 with Retry-After), an unexpected error (500, logged with the error).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import Fastify from 'fastify';
import pino from 'pino';
import { AppError } from '../core/errors.js';
import { classifyAndLog, sendProblem } from './problem.js';
import { RawRoutes, sendRawProblem } from './raw-routes.js';

interface Seen {
  status: number;
  type: string | undefined;
  retryAfter: string | undefined;
  body: unknown;
}

function post(port: number, path: string): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], retryAfter: res.headers['retry-after'] as string | undefined, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

const logsOf = (lines: string[]) => lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: unknown }).map((l) => ({ level: l.level, msg: l.msg, hasErr: l.err !== undefined }));

test('a thrown value gets the same answer and log line from a raw route as from the app', async () => {
  const thrown: [string, () => unknown, { status: number; retryAfter?: string; logs: string[] }][] = [
    ['database down', () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), { status: 503, retryAfter: '2', logs: ['database unavailable'] }],
    ['unexpected', () => new TypeError('x is undefined'), { status: 500, logs: ['unhandled error'] }],
    ['rate limited', () => new AppError('rate_limited', 'slow down', { retryAfterSeconds: 7 }), { status: 429, retryAfter: '7', logs: [] }],
  ];
  for (const [what, make, expected] of thrown) {
    const fastifyLogs: string[] = [];
    const rawLogs: string[] = [];
    const fastifyLogger = pino({ level: 'warn' }, { write: (l: string) => void fastifyLogs.push(l) });
    const rawLogger = pino({ level: 'warn' }, { write: (l: string) => void rawLogs.push(l) });

    const rawRoutes = new RawRoutes(1024, rawLogger);
    rawRoutes.add('POST', '/raw', (req, res) => sendRawProblem(res, make(), req, rawLogger));
    const app = Fastify({ loggerInstance: fastifyLogger, serverFactory: rawRoutes.serverFactory });
    app.setErrorHandler((err, req, reply) => sendProblem(reply, classifyAndLog(err, req.log), req));
    app.post('/app', async () => {
      throw make();
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const port = (app.server.address() as { port: number }).port;
      const viaApp = await post(port, '/app');
      const viaRaw = await post(port, '/raw');
      assert.deepEqual({ ...viaRaw, body: { ...(viaRaw.body as object), instance: '' } }, { ...viaApp, body: { ...(viaApp.body as object), instance: '' } }, what);
      assert.equal(viaRaw.status, expected.status, what);
      assert.equal(viaRaw.retryAfter, expected.retryAfter, what);
      assert.equal((viaRaw.body as { instance: string }).instance, '/raw', what);
      assert.deepEqual(logsOf(rawLogs), logsOf(fastifyLogs), what);
      assert.deepEqual(logsOf(rawLogs).map((l) => l.msg), expected.logs, what);
    } finally {
      await app.close();
    }
  }
});
