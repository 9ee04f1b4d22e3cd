import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../../test/support/fixtures.js';
import { ProviderError } from '../../core/errors.js';
import type { ProviderResponse } from '../http.js';
import { classifyCloudApiCode, cloudApiError, readGraphError } from './errors.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

function response(status: number, json: unknown, headers: Record<string, string> = {}): ProviderResponse {
  const text = json === undefined ? '<html>Bad Gateway</html>' : JSON.stringify(json);
  return { status, headers: new Headers(headers), bytes: Buffer.from(text), text, json };
}

describe('cloud-api errors: real error bodies', () => {
  const cases = [
    {
      name: 'error_130429_throughput.json',
      status: 429,
      kind: 'rate_limited',
      retryable: true,
      code: '130429',
    },
    {
      name: 'error_131056_pair_rate_limit.json',
      status: 400,
      kind: 'pair_rate_limited',
      retryable: true,
      code: '131056',
    },
    {
      name: 'error_132001_template_not_found.json',
      status: 404,
      kind: 'invalid_request',
      retryable: false,
      code: '132001',
    },
    {
      name: 'error_190_token_expired.json',
      status: 401,
      kind: 'unauthorized',
      retryable: false,
      code: '190',
    },
  ] as const;
  for (const c of cases) {
    test(`${c.name} → ${c.kind}, retryable ${c.retryable}`, () => {
      const err = cloudApiError(response(c.status, fixtureJson('whatsapp-cloud', c.name)), NOW);
      assert.ok(err instanceof ProviderError, 'typed error');
      assert.equal(err.kind, c.kind);
      assert.equal(err.retryable, c.retryable);
      assert.equal(err.providerCode, c.code);
      assert.equal(err.httpStatus, c.status);
      assert.equal(err.retryAfterMs, undefined);
    });
  }

  test('the 132001 details and message survive into the error message', () => {
    const err = cloudApiError(
      response(404, fixtureJson('whatsapp-cloud', 'error_132001_template_not_found.json')),
      NOW,
      'send template',
    );
    assert.match(
      err.message,
      /^send template failed: \(#132001\) Template name does not exist in the translation \(template name \(YOUR_TEMPLATE_NAME\) does not exist in en\)$/,
    );
    const g = readGraphError(fixtureJson('whatsapp-cloud', 'error_132001_template_not_found.json'));
    assert.equal(g?.subcode, 2494073);
  });

  test('Retry-After (seconds or HTTP date) is honoured', () => {
    const body = fixtureJson('whatsapp-cloud', 'error_130429_throughput.json');
    assert.equal(cloudApiError(response(429, body, { 'retry-after': '7' }), NOW).retryAfterMs, 7000);
    assert.equal(
      cloudApiError(response(429, body, { 'retry-after': new Date(NOW + 3000).toUTCString() }), NOW)
        .retryAfterMs,
      3000,
    );
    assert.equal(cloudApiError(response(429, body, { 'retry-after': '7' }), NOW).retryAfterSeconds, 7);
  });
});

describe('cloud-api errors: classification table', () => {
  const table: [number, string, boolean][] = [
    [130429, 'rate_limited', true],
    [4, 'rate_limited', true],
    [80007, 'rate_limited', true],
    [613, 'rate_limited', true],
    [133016, 'rate_limited', true],
    [131056, 'pair_rate_limited', true],
    [131016, 'unavailable', true],
    [131000, 'unavailable', true],
    [2, 'unavailable', true],
    [131047, 're_engagement_required', false],
    [131026, 'recipient_unavailable', false],
    [131049, 'recipient_unavailable', false],
    [131050, 'recipient_unavailable', false],
    [131048, 'rate_limited', false],
    [368, 'unknown', false],
    [190, 'unauthorized', false],
    [0, 'unauthorized', false],
    [100, 'invalid_request', false],
    [132000, 'invalid_request', false],
    [132001, 'invalid_request', false],
    [132012, 'invalid_request', false],
    [200, 'unauthorized', false],
  ];
  for (const [code, kind, retryable] of table) {
    test(`${code} → ${kind}${retryable ? ' (retry)' : ''}`, () => {
      assert.deepEqual(classifyCloudApiCode(code), { kind, retryable });
    });
  }

  test('unknown codes fall back to the HTTP status', () => {
    assert.deepEqual(classifyCloudApiCode(999999, 503), { kind: 'unavailable', retryable: true });
    assert.deepEqual(classifyCloudApiCode(undefined, 429), { kind: 'rate_limited', retryable: true });
    assert.deepEqual(classifyCloudApiCode(undefined, 401), { kind: 'unauthorized', retryable: false });
    assert.deepEqual(classifyCloudApiCode(999999, 400), { kind: 'unknown', retryable: false });
  });

  test('non-JSON 5xx (a proxy page) is unavailable and retryable', () => {
    const err = cloudApiError(response(502, undefined), NOW);
    assert.equal(err.kind, 'unavailable');
    assert.equal(err.retryable, true);
    assert.equal(err.providerCode, '502');
  });

  test('100/33 (object missing or not yours) is not_found; is_transient makes an unknown code retryable', () => {
    const e = cloudApiError(
      response(400, {
        error: {
          message: 'Unsupported get request',
          type: 'GraphMethodException',
          code: 100,
          error_subcode: 33,
        },
      }),
      NOW,
    );
    assert.equal(e.kind, 'not_found');
    const t = cloudApiError(
      response(400, { error: { message: 'x', code: 987654, is_transient: true } }),
      NOW,
    );
    assert.deepEqual([t.kind, t.retryable], ['unavailable', true]);
    const s = cloudApiError(response(400, { error: { message: 'string code', code: '131056' } }), NOW);
    assert.equal(s.kind, 'pair_rate_limited', 'a BSP relaying the code as a string still classifies');
  });
});
