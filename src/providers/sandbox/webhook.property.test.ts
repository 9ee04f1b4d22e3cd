import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { signSandboxBody } from './delivery.js';
import { sandboxWebhook as wh } from './webhook.js';
import { sample } from './test-support.js';

const creds = { baseUrl: 'http://x', lineId: 'sandbox-abc123', secret: 'sandbox-secret-0123456789' };

function check(body: Buffer): void {
  const raw = { headers: { 'x-sandbox-signature': signSandboxBody(creds.secret, body) }, body, query: {} };
  const r = wh.parse(raw);
  if (r.ok) {
    for (const e of r.events) {
      assert.equal(typeof e.externalId, 'string');
      assert.ok(e.dedupeKey.length > 0);
      assert.ok(!Number.isNaN(e.timestamp.getTime()));
    }
  } else assert.ok(r.reason === 'malformed' || r.reason === 'unsupported');
  assert.equal(typeof wh.verify(raw, creds), 'boolean');
}

test('random JSON and bytes never make the sandbox parser throw', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => check(Buffer.from(JSON.stringify(v) ?? 'null'))), { numRuns: 400 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => check(Buffer.from(b))), { numRuns: 200 });
});

test('mutated real sandbox payloads give ok or a typed refusal', () => {
  const value = fc.oneof(fc.anything(), fc.constantFrom('', 'text', 'status', 'message', 'read', '+1', 'sbm_1', '2026-01-01T00:00:00Z'));
  const keys = ['lineId', 'events', 'id', 'type', 'timestamp', 'message', 'status', 'from', 'content', 'messageId', 'recipient', 'error', 'text', 'media', 'latitude'];
  fc.assert(
    fc.property(fc.array(fc.record({ depth: fc.nat(3), key: fc.constantFrom(...keys), drop: fc.boolean(), value }), { minLength: 1, maxLength: 5 }), (muts) => {
      const body = sample() as unknown as Record<string, unknown>;
      for (const m of muts) {
        // walk down `depth` levels through the first object-valued child, then mutate there
        let target: Record<string, unknown> = body;
        for (let i = 0; i < m.depth; i++) {
          const next = Object.values(target).find((v) => typeof v === 'object' && v !== null) as Record<string, unknown> | undefined;
          if (!next) break;
          target = Array.isArray(next) ? ((next[0] as Record<string, unknown> | undefined) ?? target) : next;
          if (typeof target !== 'object' || target === null) break;
        }
        if (typeof target !== 'object' || target === null) continue;
        if (m.drop) delete target[m.key];
        else target[m.key] = m.value;
      }
      check(Buffer.from(JSON.stringify(body) ?? 'null'));
    }),
    { numRuns: 1000 },
  );
});
