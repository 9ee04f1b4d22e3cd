import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixtureNames } from '../../../test/support/fixtures.js';

/**
 * Every UltraMsg fixture must be exercised by a named test file; a new fixture without a test
 * fails here instead of being skipped silently. The test file must really mention the fixture.
 */
const COVERED: Record<string, string> = {
  'error_instance_not_found.json': 'errors.test.ts',
  'error_instance_stopped_nonpayment.json': 'errors.test.ts',
  'error_validation_required.json': 'errors.test.ts',
  'error_wrong_token.json': 'errors.test.ts',
  'instance_status_authenticated.json': 'session.test.ts',
  'instance_status_qr.json': 'session.test.ts',
  'instance_status_standby.json': 'session.test.ts',
  'send_chat_request.json': 'adapter.test.ts',
  'send_image_request.json': 'adapter.test.ts',
  'send_not_connected_response.json': 'errors.test.ts',
  'send_success_response.json': 'errors.test.ts',
  'webhook_message_ack_derived.json': 'webhook.test.ts',
  'webhook_message_received.json': 'webhook.test.ts',
  // Held back as acceptance set today (CONTRACTS §3.4); listed so it is covered once it appears.
  'webhook_message_create_fromme.json': 'webhook-acceptance.test.ts',
};

test('every UltraMsg fixture is covered by a test that names it', () => {
  const names = fixtureNames('ultramsg');
  assert.ok(names.length >= 13, `expected the UltraMsg fixtures, found ${names.length}`);
  for (const name of names) {
    const file = COVERED[name];
    assert.ok(file, `fixture ${name} is not covered by any test`);
    const source = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
    assert.ok(source.includes(name), `${file} does not mention ${name}`);
  }
});
