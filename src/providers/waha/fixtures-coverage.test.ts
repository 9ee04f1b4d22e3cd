import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixtureNames } from '../../../test/support/fixtures.js';

/**
 * Every WAHA fixture must be exercised by a test file that names it, so a new fixture cannot be
 * skipped silently. `webhook_*` fixtures are additionally all run through the rule-based
 * `webhook-acceptance.test.ts`, which is how fixtures held back as the acceptance set get covered
 * (the two CONTRACTS.md names are listed so they fail here if nothing names them).
 */
const COVERED: Record<string, string> = {
  'check_exists_response.json': 'adapter.test.ts',
  'error_500_exception.json': 'errors.test.ts',
  'error_session_not_working_422.json': 'errors.test.ts',
  'error_unauthorized_401.json': 'errors.test.ts',
  'hmac_test_vector.json': 'webhook.test.ts',
  'me_response.json': 'session.test.ts',
  'ping_response.json': 'simulator.test.ts',
  'qr_base64_response.json': 'session.test.ts',
  'qr_raw_response.json': 'session.test.ts',
  'sendFile_request.json': 'adapter.test.ts',
  'sendImage_request.json': 'adapter.test.ts',
  'sendText_request.json': 'adapter.test.ts',
  'sendText_response_noweb.json': 'adapter.test.ts',
  'session_create_request.json': 'session.test.ts',
  'session_create_response.json': 'session.test.ts',
  'session_get_response.json': 'session.test.ts',
  'sessions_list_response.json': 'session.test.ts',
  'webhook_message_ack.json': 'webhook.test.ts',
  'webhook_message_any_group_sticker_noweb_partial.json': 'webhook.test.ts',
  'webhook_message_group_webjs_real.json': 'webhook.test.ts',
  'webhook_message_media_docs.json': 'webhook.test.ts',
  'webhook_message_webjs_full.json': 'webhook.test.ts',
  'webhook_session_status.json': 'webhook.test.ts',
  // Acceptance set named in CONTRACTS.md §2 (not visible today).
  'webhook_message_ack_group.json': 'webhook-acceptance.test.ts',
  'webhook_message_group_gows_real.json': 'webhook-acceptance.test.ts',
};

test('every WAHA fixture is covered by a test that names it (or, for webhooks, by the rule-based acceptance test)', () => {
  const names = fixtureNames('waha');
  assert.ok(names.length >= 22, `expected the WAHA fixtures, found ${names.length}`);
  const acceptance = readFileSync(new URL('./webhook-acceptance.test.ts', import.meta.url), 'utf8');
  assert.match(acceptance, /fixtureNames\('waha'\)\.filter\(\(n\) => n\.startsWith\('webhook_'\)\)/);
  for (const name of names) {
    const file = COVERED[name] ?? (name.startsWith('webhook_') ? 'webhook-acceptance.test.ts' : undefined);
    assert.ok(file, `fixture ${name} is not covered by any test`);
    if (file === 'webhook-acceptance.test.ts') continue;
    const source = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
    assert.ok(source.includes(name), `${file} does not mention ${name}`);
  }
});
