import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixtureNames } from '../../../test/support/fixtures.js';

/**
 * Every Cloud API fixture must be exercised by a test. A fixture added to the contracts without a
 * test fails here; so does a test file that stops mentioning a fixture it claims to cover.
 */
const COVERED: Record<string, string> = {
  'error_130429_throughput.json': 'errors.test.ts',
  'error_131056_pair_rate_limit.json': 'errors.test.ts',
  'error_132001_template_not_found.json': 'errors.test.ts',
  'error_190_token_expired.json': 'errors.test.ts',
  'mark_read_response.json': 'adapter.test.ts',
  'mark_read_with_typing_request.json': 'adapter.test.ts',
  'media_retrieve_url_response.json': 'adapter-ops.test.ts',
  'media_upload_response.json': 'adapter-ops.test.ts',
  'message_templates_list_response.json': 'adapter-ops.test.ts',
  'send_document_by_id_request.json': 'adapter.test.ts',
  'send_document_by_link_request.json': 'adapter.test.ts',
  'send_image_by_id_request.json': 'adapter.test.ts',
  'send_image_by_link_request.json': 'adapter.test.ts',
  'send_interactive_buttons_request.json': 'adapter.test.ts',
  'send_interactive_list_request.json': 'adapter.test.ts',
  'send_message_response.json': 'adapter.test.ts',
  'send_reaction_request.json': 'adapter.test.ts',
  'send_template_media_request.json': 'adapter.test.ts',
  'send_template_text_request.json': 'adapter.test.ts',
  'send_text_reply_context_request.json': 'adapter.test.ts',
  'send_text_request.json': 'adapter.test.ts',
  'signature_test_vectors.json': 'webhook.test.ts',
  'webhook_image_message.json': 'webhook.test.ts',
  'webhook_interactive_button_reply.json': 'webhook.test.ts',
  'webhook_reaction_message.json': 'webhook.test.ts',
  'webhook_status_delivered_real.json': 'webhook.test.ts',
  'webhook_status_failed_131047_derived.json': 'webhook.test.ts',
  'webhook_status_read_derived.json': 'webhook.test.ts',
  'webhook_status_sent_real.json': 'webhook.test.ts',
  'webhook_system_message.json': 'webhook.test.ts',
  'webhook_template_quick_reply_button.json': 'webhook.test.ts',
  'webhook_text_message.json': 'webhook.test.ts',
  'webhook_unsupported_message.json': 'webhook.test.ts',
  'webhook_value_errors_130429.json': 'webhook.test.ts',
  'webhook_verification_get.json': 'webhook.test.ts',
};

test('every whatsapp-cloud fixture is covered by a named test file', () => {
  const missing = fixtureNames('whatsapp-cloud').filter((n) => !(n in COVERED));
  assert.deepEqual(missing, [], `fixtures without a test: ${missing.join(', ')}`);
});

test('each covering test file really uses its fixtures', () => {
  for (const [name, file] of Object.entries(COVERED)) {
    const source = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
    assert.ok(source.includes(`'${name}'`), `${file} does not mention ${name}`);
  }
});

test('every webhook fixture is also fed, mutated, to the property test', () => {
  const source = readFileSync(new URL('./webhook.property.test.ts', import.meta.url), 'utf8');
  assert.match(source, /fixtureNames\('whatsapp-cloud'\)/);
  assert.match(source, /startsWith\('webhook_'\)/);
});
