import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../../test/support/fixtures.js';
import { wahaError } from './errors.js';

const err = (status: number, body: unknown, retryAfter?: string) =>
  wahaError({ status, json: body, text: typeof body === 'string' ? body : JSON.stringify(body), retryAfter: retryAfter ?? null, now: Date.parse('2026-01-01T00:00:00Z') });

test('error_unauthorized_401.json → unauthorized, not retryable', () => {
  const e = err(401, fixtureJson('waha', 'error_unauthorized_401.json'));
  assert.equal(e.kind, 'unauthorized');
  assert.equal(e.retryable, false);
  assert.equal(e.httpStatus, 401);
  assert.equal(e.code, 'provider_unauthorized');
  assert.match(e.message, /Unauthorized/);
});

test('error_session_not_working_422.json → session_not_ready, retryable, status as provider code', () => {
  const e = err(422, fixtureJson('waha', 'error_session_not_working_422.json'));
  assert.equal(e.kind, 'session_not_ready');
  assert.equal(e.retryable, true);
  assert.equal(e.providerCode, 'STARTING');
  assert.equal(e.code, 'session_not_ready');
  assert.match(e.message, /STARTING, expected WORKING/);
});

test('error_500_exception.json (AllExceptionsFilter) → unavailable, retryable, exception name and message kept', () => {
  const e = err(500, fixtureJson('waha', 'error_500_exception.json'));
  assert.equal(e.kind, 'unavailable');
  assert.equal(e.retryable, true);
  assert.equal(e.providerCode, 'SessionError');
  assert.match(e.message, /No sessions/);
  assert.doesNotMatch(e.message, /node_modules/, 'the stack trace stays out of the message');
});

test('404 session not found → not_found; other 404s (missing file) → not_found with their key', () => {
  const s = err(404, { statusCode: 404, message: 'Session not found', error: 'Not Found' });
  assert.equal(s.kind, 'not_found');
  assert.equal(s.retryable, false);
  assert.equal(s.providerCode, 'session_not_found');
  const f = err(404, { error: { code: 404, key: 'FILE_NOT_FOUND', message: 'File not found', details: 'x' } });
  assert.equal(f.kind, 'not_found');
  assert.equal(f.providerCode, 'FILE_NOT_FOUND');
});

test('429 honours Retry-After (seconds and HTTP date)', () => {
  const a = err(429, { statusCode: 429, message: 'ThrottlerException: Too Many Requests' }, '7');
  assert.equal(a.kind, 'rate_limited');
  assert.equal(a.retryable, true);
  assert.equal(a.retryAfterMs, 7000);
  const b = err(429, 'slow down', 'Thu, 01 Jan 2026 00:00:30 GMT');
  assert.equal(b.retryAfterMs, 30_000);
  assert.equal(err(429, '').retryAfterMs, undefined);
});

test('other statuses: 400 validation and 422 "already exists" are permanent, 502/503 transient, 408 timeout', () => {
  const v = err(400, { statusCode: 400, message: ['chatId must be a string', 'text must be a string'], error: 'Bad Request' });
  assert.equal(v.kind, 'invalid_request');
  assert.equal(v.retryable, false);
  assert.match(v.message, /chatId must be a string; text must be a string/);
  const exists = err(422, { statusCode: 422, message: "Session 'x' already exists. Use PUT to update it.", error: 'Unprocessable Entity' });
  assert.equal(exists.kind, 'invalid_request');
  assert.equal(exists.retryable, false);
  for (const s of [502, 503, 504]) assert.deepEqual([err(s, '<html>bad gateway</html>').kind, err(s, '').retryable], ['unavailable', true]);
  assert.deepEqual([err(408, '').kind, err(408, '').retryable], ['timeout', true]);
  assert.equal(err(413, 'too large').kind, 'invalid_request');
});

test('a huge error body cannot flood the message', () => {
  assert.ok(err(500, { statusCode: 500, exception: { message: 'x'.repeat(100_000), name: 'Error' } }).message.length < 400);
});
