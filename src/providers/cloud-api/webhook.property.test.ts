import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fixtureJson, fixtureNames } from '../../../test/support/fixtures.js';
import type { WebhookParseResult } from '../types.js';
import { cloudApiWebhook } from './webhook.js';
import { rawOf } from './test-helpers.js';

/** Hostile input must give `{ok:true, events}` or `{ok:false}`, never a throw (DESIGN §3). */

const webhookFixtures = fixtureNames('whatsapp-cloud')
  .filter((n) => n.startsWith('webhook_') && n !== 'webhook_verification_get.json')
  .map((n) => fixtureJson('whatsapp-cloud', n));

function wellFormed(r: WebhookParseResult): void {
  if (r.ok) {
    assert.ok(Array.isArray(r.events), 'events is an array');
    for (const e of r.events) {
      assert.equal(typeof e.externalId, 'string');
      assert.equal(typeof e.dedupeKey, 'string');
      assert.ok(e.timestamp instanceof Date, 'timestamp is a Date');
    }
  } else {
    assert.ok(r.reason === 'malformed' || r.reason === 'unsupported', `reason ${r.reason}`);
  }
}

function callAll(body: Buffer): void {
  const raw = rawOf(body, { 'x-hub-signature-256': 'sha256=00' });
  wellFormed(cloudApiWebhook.parse(raw));
  assert.ok(Array.isArray(cloudApiWebhook.routingKeys(raw)), 'routing keys are a list');
  assert.equal(typeof cloudApiWebhook.verify(raw, { appSecret: 'x' } as never), 'boolean');
}

/** Every path (as key lists) inside a JSON value, to mutate one spot at a time. */
function paths(
  v: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (v !== null && typeof v === 'object') {
    for (const [k, child] of Object.entries(v)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(child, p, out);
    }
  }
  return out;
}

function mutate(
  root: unknown,
  path: (string | number)[],
  op: 'delete' | 'replace',
  replacement: unknown,
): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (op === 'delete') {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = replacement;
  return copy;
}

test('random JSON never makes the parser throw', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      callAll(Buffer.from(JSON.stringify(v) ?? 'null'));
    }),
    { numRuns: 500 },
  );
});

test('random bytes never make the parser throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      callAll(Buffer.from(bytes));
    }),
    { numRuns: 300 },
  );
});

test('real fixtures with a field dropped or replaced by a wrong type never throw', () => {
  const weird = fc.oneof(
    fc.constant(null),
    fc.constant([]),
    fc.constant({}),
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.boolean(),
    fc.constant('__proto__'),
    fc.jsonValue(),
  );
  fc.assert(
    fc.property(
      fc.nat(),
      fc.nat(),
      fc.constantFrom<'delete' | 'replace'>('delete', 'replace'),
      weird,
      (fi, pi, op, replacement) => {
        const fixture = webhookFixtures[fi % webhookFixtures.length];
        const ps = paths(fixture);
        const mutated = ps.length === 0 ? fixture : mutate(fixture, ps[pi % ps.length]!, op, replacement);
        callAll(Buffer.from(JSON.stringify(mutated)));
      },
    ),
    { numRuns: 1500 },
  );
});

test('a fixture embedded in a batch with random extra entries still yields its own events', () => {
  const text = fixtureJson<{ entry: unknown[] }>('whatsapp-cloud', 'webhook_text_message.json');
  fc.assert(
    fc.property(
      fc.array(fc.jsonValue(), { maxLength: 5 }),
      fc.array(fc.jsonValue(), { maxLength: 5 }),
      (before, after) => {
        const r = cloudApiWebhook.parse(
          rawOf(
            JSON.stringify({
              object: 'whatsapp_business_account',
              entry: [...before, ...text.entry, ...after],
            }),
          ),
        );
        assert.ok(r.ok, 'the batch parses');
        assert.ok(
          r.events.some(
            (e) => e.dedupeKey === 'msg:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
          ),
          'the fixture message is among the events',
        );
      },
    ),
    { numRuns: 300 },
  );
});
