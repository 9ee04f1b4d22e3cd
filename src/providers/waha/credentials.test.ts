import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { wahaProvider } from './index.js';
import { normaliseBaseUrl, wahaEventExternalId, wahaExternalId } from './credentials.js';
import { deps } from './test-support.js';

const good = { baseUrl: 'https://waha.example.com', apiKey: 'k', sessionName: 'shop_1', webhookHmacKey: 'a'.repeat(16) };

test('externalId is session@host:port[/prefix], unique per server, stable across URL spellings', () => {
  assert.equal(wahaExternalId(good), 'shop_1@waha.example.com:443');
  assert.equal(wahaExternalId({ ...good, baseUrl: 'https://WAHA.example.com:443/' }), 'shop_1@waha.example.com:443');
  assert.equal(wahaExternalId({ ...good, baseUrl: 'http://10.0.0.5:3000' }), 'shop_1@10.0.0.5:3000');
  assert.equal(wahaExternalId({ ...good, baseUrl: 'http://proxy.example/waha/' }), 'shop_1@proxy.example:80/waha');
  assert.notEqual(wahaExternalId({ ...good, sessionName: 'default' }), wahaExternalId({ ...good, sessionName: 'default', baseUrl: 'https://other.example' }));
  assert.equal(wahaEventExternalId(wahaExternalId(good)), 'shop_1', 'webhook events carry only the session name');
  assert.equal(normaliseBaseUrl('https://h.example/prefix//'), 'https://h.example/prefix');
});

test('credential schema accepts real configurations and rejects unsafe ones', () => {
  const schema = wahaProvider.credentials.schema;
  assert.equal(Value.Check(schema, good), true);
  assert.equal(Value.Check(schema, { ...good, baseUrl: 'http://localhost:3000/' }), true);
  for (const bad of [
    { ...good, baseUrl: 'ftp://waha.example.com' },
    { ...good, baseUrl: 'waha.example.com' },
    { ...good, sessionName: 'a/b' },
    { ...good, sessionName: '' },
    { ...good, apiKey: '' },
    { ...good, webhookHmacKey: 'short' },
    { ...good, extra: 1 },
    { baseUrl: good.baseUrl, apiKey: 'k', sessionName: 's' },
  ]) {
    assert.equal(Value.Check(schema, bad), false, JSON.stringify(bad));
  }
  const fields = wahaProvider.credentials.fields;
  assert.deepEqual(fields.map((f) => [f.name, f.secret]), [['baseUrl', false], ['apiKey', true], ['sessionName', false], ['webhookHmacKey', true]]);
  assert.ok(fields.every((f) => f.required && f.help));
});

test('provider definition: capabilities list exactly what WAHA sends', () => {
  assert.equal(wahaProvider.id, 'waha');
  assert.deepEqual([...wahaProvider.capabilities.content].sort(), ['audio', 'contacts', 'document', 'image', 'interactive', 'location', 'reaction', 'text', 'video']);
  assert.deepEqual({ ...wahaProvider.capabilities, content: undefined }, { content: undefined, markRead: true, sessions: true, mediaUpload: false, templates: false, inboundMedia: 'held' });
  const a = wahaProvider.createAdapter(deps());
  assert.equal(typeof a.session?.qr, 'function');
  assert.equal(typeof a.markRead, 'function');
  assert.ok(wahaProvider.rateDefaults.perSecond <= 1, 'WhatsApp-Web lines stay slow by default');
});
