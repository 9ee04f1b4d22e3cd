import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { AppError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
import { isDatabaseUnavailable, isRejectedValue } from '../db/db.js';

/**
 * RFC 9457 problem documents. The only place an error becomes an HTTP answer: domain code throws
 * `AppError`; Fastify's own errors (validation, body parsing, limits) are mapped to our stable codes
 * here so a client never sees two shapes.
 */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem document' },
);

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  instance?: string;
  errors?: { path: string; message: string }[];
  [k: string]: unknown;
}

export const problemType = (code: ErrorCode): string => `urn:switchboard:problem:${code}`;

export function toProblem(err: AppError, instance?: string): Problem {
  const p: Problem = {
    type: problemType(err.code),
    title: ERROR_CODES[err.code].title,
    status: err.status,
    code: err.code,
    detail: err.message,
    ...(instance ? { instance } : {}),
  };
  if (err.details) for (const [k, v] of Object.entries(err.details)) if (v !== undefined && !(k in p)) p[k] = v;
  // Every validation problem lists `errors[]` (docs/errors.md), also those a handler finds (a bad
  // cursor, dates out of order) and give only a sentence: then one entry for the whole request.
  if (err.code === 'validation_failed' && !Array.isArray(p.errors)) p.errors = [{ path: '/', message: err.message }];
  return p;
}

/** Maps anything thrown in a request to an AppError (unknown errors → internal_error). */
export function classify(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError & { validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[] };
  if (fe?.validation) {
    const errors = fe.validation.map((v) => ({
      path: (v.instancePath || '') + (v.params?.missingProperty ? `/${String(v.params.missingProperty)}` : '') || '/',
      message: v.message ?? 'invalid',
    }));
    return new AppError('validation_failed', fe.message, { details: { errors } });
  }
  switch (fe?.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', fe.message);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', fe.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('malformed_json', fe.message);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('validation_failed', fe.message);
  }
  if (err instanceof SyntaxError || fe?.statusCode === 400) {
    return new AppError(fe?.name === 'SyntaxError' || err instanceof SyntaxError ? 'malformed_json' : 'validation_failed', fe.message);
  }
  if (fe?.statusCode === 413) return new AppError('payload_too_large', fe.message);
  if (fe?.statusCode === 415) return new AppError('unsupported_media_type', fe.message);
  if (isRejectedValue(err)) {
    return new AppError('validation_failed', 'a value cannot be stored or compared: it holds a NUL character or half of a surrogate pair, or names a date that does not exist');
  }
  if (isDatabaseUnavailable(err)) {
    return new AppError('service_unavailable', 'the database is unavailable; retry shortly', { retryAfterSeconds: 2 });
  }
  return new AppError('internal_error', 'an unexpected error occurred', { cause: err });
}

/**
 * What a request's failure becomes, logged as the app logs it: unexpected errors at `error` with
 * the thrown value, an unavailable database at `warn`, the rest (the client's own mistakes) not at
 * all. Used by the app's error handler and by the raw routes (decision 036).
 */
export function classifyAndLog(thrown: unknown, log: Pick<FastifyBaseLogger, 'error' | 'warn'>): AppError {
  const err = classify(thrown);
  if (err.code === 'internal_error') log.error({ err: thrown }, 'unhandled error');
  else if (err.code === 'service_unavailable') log.warn({ err: (thrown as Error).message }, 'database unavailable');
  return err;
}

export function sendProblem(reply: FastifyReply, err: AppError, req?: FastifyRequest): FastifyReply {
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
  return reply
    .status(err.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(toProblem(err, req?.url.split('?')[0]));
}
