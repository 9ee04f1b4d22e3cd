import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fixtureJson } from '../../../test/support/fixtures.js';
import { ultramsgWebhook as wh } from './webhook.js';
import { raw } from './test-support.js';

/** The parser's whole contract under hostile input: `{ok:true, events}` or `{ok:false}`, never a throw. */
function assertWellFormed(body: Buffer): void {
  const r = wh.parse(raw(body));
  assert.equal(typeof r.ok, 'boolean');
  if (r.ok) {
    assert.ok(Array.isArray(r.events));
    for (const e of r.events) {
      assert.equal(typeof e.dedupeKey, 'string');
      assert.ok(e.externalId.startsWith('instance'));
      assert.ok(e.timestamp instanceof Date && !Number.isNaN(e.timestamp.getTime()));
    }
  } else assert.ok(r.reason === 'malformed' || r.reason === 'unsupported');
  // verify must be total as well
  assert.equal(typeof wh.verify(raw(body), { instanceId: 'instance1150', token: 't' }), 'boolean');
}

const FIXTURES = ['webhook_message_received.json', 'webhook_message_ack_derived.json'] as const;
const weird = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.string(),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.anything(), { maxKeys: 3 }),
  fc.constantFrom('', 'chat', 'image', 'location', 'vcard', 'ptt', 'server', 'read', '1150', 'instance1150', '__proto__', '120363@g.us', '@lid'),
);

/** A mutation: path into the fixture and what to do there. */
const mutation = fc.record({
  inData: fc.boolean(),
  key: fc.constantFrom('event_type', 'instanceId', 'id', 'referenceId', 'data', 'from', 'to', 'author', 'ack', 'type', 'body', 'media', 'fromMe', 'time', 'quotedMsg', 'location', 'vCards', 'pushname'),
  op: fc.constantFrom('drop', 'replace'),
  value: weird,
});

test('random JSON never makes the parser throw', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => assertWellFormed(Buffer.from(JSON.stringify(v) ?? 'null'))),
    { numRuns: 500 },
  );
});

test('random bytes never make the parser throw', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => assertWellFormed(Buffer.from(bytes))), { numRuns: 300 });
});

test('mutated real fixtures (dropped fields, wrong types) give ok or a typed refusal', () => {
  fc.assert(
    fc.property(fc.constantFrom(...FIXTURES), fc.array(mutation, { minLength: 1, maxLength: 5 }), (name, muts) => {
      const body = fixtureJson<Record<string, unknown>>('ultramsg', name);
      for (const m of muts) {
        const target = m.inData && typeof body.data === 'object' && body.data !== null ? (body.data as Record<string, unknown>) : body;
        if (m.op === 'drop') delete target[m.key];
        else target[m.key] = m.value;
      }
      assertWellFormed(Buffer.from(JSON.stringify(body)));
    }),
    { numRuns: 1000 },
  );
});
