import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fixtureJson, fixtureNames } from '../../../test/support/fixtures.js';
import type { InboundEvent } from '../../core/canonical.js';
import type { WebhookParseResult } from '../types.js';
import { wahaWebhook } from './webhook.js';
import { raw } from './test-support.js';

/**
 * Hostile input never makes the parser throw: random JSON, random bytes and real WAHA webhooks
 * with fields dropped, replaced or retyped all give `{ok: true, events}` with well-formed events,
 * or `{ok: false}`.
 */

const WEBHOOKS = fixtureNames('waha')
  .filter((n) => n.startsWith('webhook_'))
  .map((n) => fixtureJson<unknown>('waha', n));

function wellFormed(e: InboundEvent): void {
  assert.equal(typeof e.externalId, 'string');
  assert.ok(e.externalId.length > 0);
  assert.ok(typeof e.dedupeKey === 'string' && e.dedupeKey.length > 0);
  assert.ok(e.timestamp instanceof Date && !Number.isNaN(e.timestamp.getTime()));
  if (e.kind === 'message.received') {
    assert.ok(typeof e.chat === 'string' && e.chat.length > 0);
    assert.ok(typeof e.from === 'string' && e.from.length > 0);
    assert.ok(typeof e.providerMessageId === 'string' && e.providerMessageId.length > 0);
    assert.equal(typeof e.fromMe, 'boolean');
    assert.equal(typeof e.content.type, 'string');
  }
  if (e.kind === 'message.status') assert.ok(['sent', 'delivered', 'read', 'played', 'failed'].includes(e.status));
  if (e.kind === 'session.status') assert.ok(['stopped', 'starting', 'scan_qr', 'working', 'failed'].includes(e.status));
}

function check(r: WebhookParseResult): void {
  if (r.ok) r.events.forEach(wellFormed);
  else {
    assert.ok(r.reason === 'malformed' || r.reason === 'unsupported');
    // The parser's last-resort catch must never be what saved us: that would be a real bug.
    assert.doesNotMatch(r.detail, /^unparseable WAHA webhook/);
  }
}

/** Every path (array of keys) inside a JSON value. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => [[...prefix, i], ...paths(x, [...prefix, i])]);
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [[...prefix, k], ...paths(x, [...prefix, k])]);
  return [];
}

function mutate(doc: unknown, path: (string | number)[], replacement: unknown, drop: boolean): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (drop) delete node[last];
  else node[last] = replacement;
  return copy;
}

test('random JSON never throws', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      check(wahaWebhook.parse(raw(JSON.stringify(v) ?? 'null')));
    }),
    { numRuns: 500 },
  );
});

test('random JSON inside a plausible envelope never throws', () => {
  const events = ['message', 'message.any', 'message.ack', 'message.ack.group', 'message.reaction', 'message.revoked', 'message.edited', 'session.status', 'presence.update', 'x'];
  fc.assert(
    fc.property(fc.constantFrom(...events), fc.jsonValue(), fc.option(fc.jsonValue()), (event, payload, me) => {
      check(wahaWebhook.parse(raw({ event, session: 'default', payload, me, timestamp: 1700000000000 })));
    }),
    { numRuns: 500 },
  );
});

test('random bytes never throw (parse and verify)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string(), (bytes, sig) => {
      const r = { headers: { 'x-webhook-hmac': sig }, body: Buffer.from(bytes), query: {} };
      check(wahaWebhook.parse(r));
      assert.equal(typeof wahaWebhook.verify(r, { baseUrl: 'http://x', apiKey: 'k', sessionName: 's', webhookHmacKey: 'k'.repeat(16) }), 'boolean');
    }),
    { numRuns: 300 },
  );
});

test('real webhooks with a field dropped, replaced or retyped never throw', () => {
  assert.ok(WEBHOOKS.length >= 6);
  const wrongTypes = fc.oneof(fc.constant(null), fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant([]), fc.constant({}), fc.jsonValue());
  const arb = fc.constantFrom(...WEBHOOKS).chain((doc) => {
    const ps = paths(doc);
    return fc.tuple(fc.constant(doc), fc.constantFrom(...ps), wrongTypes, fc.boolean());
  });
  fc.assert(
    fc.property(arb, ([doc, path, replacement, drop]) => {
      check(wahaWebhook.parse(raw(mutate(doc, path, replacement, drop) as object)));
    }),
    { numRuns: 2000 },
  );
});

test('several mutations at once on real webhooks never throw', () => {
  const arb = fc.constantFrom(...WEBHOOKS).chain((doc) => fc.tuple(fc.constant(doc), fc.array(fc.tuple(fc.constantFrom(...paths(doc)), fc.jsonValue(), fc.boolean()), { minLength: 2, maxLength: 6 })));
  fc.assert(
    fc.property(arb, ([doc, muts]) => {
      let cur: unknown = doc;
      for (const [p, v, drop] of muts) {
        try {
          cur = mutate(cur, p, v, drop);
        } catch {
          // the path vanished with an earlier mutation; keep the document as it is
        }
      }
      check(wahaWebhook.parse(raw(JSON.stringify(cur))));
    }),
    { numRuns: 1000 },
  );
});
