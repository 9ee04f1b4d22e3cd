import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../../test/support/fixtures.js';
import { ultramsgErrorFrom } from './errors.js';
import { response } from './test-support.js';

describe('UltraMsg error mapping', () => {
  const cases: [string, string, boolean, string][] = [
    ['error_wrong_token.json', 'unauthorized', false, 'wrong_token'],
    ['error_instance_not_found.json', 'not_found', false, 'instance_not_found'],
    ['error_instance_stopped_nonpayment.json', 'unauthorized', false, 'instance_stopped'],
    ['error_validation_required.json', 'invalid_request', false, 'validation'],
    ['send_not_connected_response.json', 'session_not_ready', true, 'not_connected'],
  ];
  for (const [name, kind, retryable, code] of cases) {
    test(`${name} (HTTP 200) → ${kind}`, () => {
      const err = ultramsgErrorFrom(response(200, fixtureJson('ultramsg', name)));
      assert.ok(err, 'a 200 with an error body is still an error');
      assert.equal(err.kind, kind);
      assert.equal(err.retryable, retryable);
      assert.equal(err.providerCode, code);
      assert.equal(err.httpStatus, 200);
    });
  }

  test('validation arrays list every field', () => {
    const err = ultramsgErrorFrom(response(200, fixtureJson('ultramsg', 'error_validation_required.json')));
    assert.match(err!.message, /to is required; body is required/);
  });

  test('send_success_response.json is not an error', () => {
    assert.equal(ultramsgErrorFrom(response(200, fixtureJson('ultramsg', 'send_success_response.json'))), undefined);
  });

  test('HTTP statuses without an UltraMsg body', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const r429 = ultramsgErrorFrom(response(429, 'slow down', { 'retry-after': '7' }), now)!;
    assert.equal(r429.kind, 'rate_limited');
    assert.equal(r429.retryable, true);
    assert.equal(r429.retryAfterMs, 7000);
    const r404 = ultramsgErrorFrom(response(404, '<html>nope</html>'))!;
    assert.equal(r404.kind, 'not_found');
    assert.equal(r404.retryable, false);
    const r503 = ultramsgErrorFrom(response(503, 'down'))!;
    assert.equal(r503.kind, 'unavailable');
    assert.equal(r503.retryable, true);
    assert.equal(ultramsgErrorFrom(response(401, ''))!.kind, 'unauthorized');
    assert.equal(ultramsgErrorFrom(response(400, 'bad'))!.kind, 'invalid_request');
  });

  test('an error body wins over the status code, and sent:"false" without a known message is not retried', () => {
    assert.equal(ultramsgErrorFrom(response(404, { error: 'Instance not found' }))!.kind, 'not_found');
    const other = ultramsgErrorFrom(response(200, { sent: 'false', message: 'something else' }))!;
    assert.equal(other.kind, 'invalid_request');
    assert.equal(other.retryable, false);
    assert.equal(ultramsgErrorFrom(response(200, { sent: false, message: 'WhatsApp not connected' }))!.kind, 'session_not_ready');
  });

  test('a 429 or 5xx whose error body says nothing we know is the status: retryable, Retry-After kept (it failed the message for good)', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const r429 = ultramsgErrorFrom(response(429, { error: 'Too many requests' }, { 'retry-after': '30' }), now)!;
    assert.equal(r429.kind, 'rate_limited');
    assert.equal(r429.retryable, true);
    assert.equal(r429.retryAfterMs, 30_000);
    for (const status of [500, 503]) {
      const r = ultramsgErrorFrom(response(status, { error: 'Service Unavailable' }))!;
      assert.equal(r.kind, 'unavailable', String(status));
      assert.equal(r.retryable, true);
    }
    // A message we know keeps its meaning whatever the status.
    assert.equal(ultramsgErrorFrom(response(500, { error: 'Wrong token. Please provide token' }))!.kind, 'unauthorized');
  });
});
