import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { AppError } from '../core/errors.js';
import { classifyAndLog, PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';

/** Request ids as Fastify is configured to make them (`genReqId`), for log lines of either entry. */
export const newRequestId = (): string => `req_${Math.random().toString(36).slice(2, 12)}`;

export type RawHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
type OnRequest = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Routes answered by Node's HTTP server ahead of Fastify (decision 036). Only for a hot route whose
 * whole behaviour lives in one handler over `(req, res, body)`: the same handler is also registered
 * as the Fastify route (documented in OpenAPI, driven by `inject()` in tests), so the two entries
 * differ only in who reads the body. On the inbound bench, answering ahead of Fastify's per-request
 * work (request and reply objects, hooks, content-type parsing, a child logger, serialization) took
 * the acknowledging thread from 113–119 to 93–101 µs a webhook at the peak.
 */
export class RawRoutes {
  private readonly routes = new Map<string, { handler: RawHandler; onRequest?: OnRequest }>();

  constructor(
    private readonly bodyLimit: number,
    private readonly logger: Logger,
  ) {}

  /**
   * `path` is matched exactly, without its query string. `onRequest` runs as the request arrives,
   * before its body is read (as a Fastify onRequest hook does).
   */
  add(method: 'POST', path: string, handler: RawHandler, onRequest?: OnRequest): void {
    this.routes.set(`${method} ${path}`, { handler, onRequest });
  }

  /** Fastify's `serverFactory`: an HTTP server that tries these routes first. */
  serverFactory = (fastify: (req: IncomingMessage, res: ServerResponse) => void, opts: Record<string, unknown>): Server => {
    const requestTimeout = Number(opts.requestTimeout);
    // Node checks request timeouts on this interval (30 s by default): a short timeout needs a shorter one.
    const checkEvery = requestTimeout > 0 ? Math.min(30_000, Math.max(250, Math.floor(requestTimeout / 4))) : 30_000;
    const server = createServer({ connectionsCheckingInterval: checkEvery }, (req, res) => {
      if (!this.serve(req, res)) fastify(req, res);
    });
    // What Fastify sets on a server it creates itself.
    server.keepAliveTimeout = Number(opts.keepAliveTimeout);
    server.requestTimeout = requestTimeout;
    // Node enforces requestTimeout only while headersTimeout (60 s by default) is not longer.
    if (requestTimeout > 0) server.headersTimeout = Math.min(server.headersTimeout, requestTimeout);
    server.setTimeout(Number(opts.connectionTimeout));
    return server;
  };

  private serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.routes.size === 0) return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const route = this.routes.get(`${req.method} ${q < 0 ? url : url.slice(0, q)}`);
    if (!route) return false;
    route.onRequest?.(req, res);
    const started = performance.now();
    if (this.logger.isLevelEnabled('info')) {
      // As Fastify does: the caller's X-Request-Id when it sends one, else a new id.
      const given = req.headers['x-request-id'];
      const reqId = typeof given === 'string' && given.length > 0 ? given : newRequestId();
      res.once('finish', () => this.logger.info({ reqId, req: { method: req.method, url }, res: { statusCode: res.statusCode }, responseTime: performance.now() - started }, 'request completed'));
    }
    const declared = Number(req.headers['content-length']);
    if (declared > this.bodyLimit) {
      tooLarge(req, res, this.logger);
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > this.bodyLimit) {
        req.removeAllListeners('data');
        req.removeAllListeners('end');
        tooLarge(req, res, this.logger);
      } else chunks.push(c);
    });
    req.on('end', () => {
      try {
        route.handler(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      } catch (err) {
        sendRawProblem(res, err, req, this.logger);
      }
    });
    return true;
  }
}

function tooLarge(req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  // The rest of the body is not read: the connection closes once the answer is out.
  res.shouldKeepAlive = false;
  sendRawProblem(res, new AppError('payload_too_large', 'Request body is too large'), req, logger);
  res.once('finish', () => req.destroy());
}

export function sendRawJson(res: ServerResponse, status: number, value: unknown, contentType = 'application/json; charset=utf-8'): void {
  if (res.headersSent) return;
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The raw-route twin of the app's error handler and `sendProblem`: anything thrown becomes the same
 * problem document, logged the same way (`classifyAndLog`).
 */
export function sendRawProblem(res: ServerResponse, thrown: unknown, req: IncomingMessage, logger: Logger): void {
  const err = classifyAndLog(thrown, logger);
  if (err.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(err.retryAfterSeconds));
  sendRawJson(res, err.status, toProblem(err, (req.url ?? '').split('?')[0]), `${PROBLEM_CONTENT_TYPE}; charset=utf-8`);
}
