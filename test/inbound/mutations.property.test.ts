import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestApp, type TestApp } from '../support/app.js';
import { closeApp, cloudCreds, cloudPayload, drainAll, makeChannel, owner, postCloud, sign } from './support.js';

/** Every path (as key lists) into a JSON value, so a mutation can hit any field. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function mutate(doc: unknown, path: (string | number)[], op: 'delete' | 'replace', value: unknown): unknown {
  if (path.length === 0) return op === 'delete' ? undefined : value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let cur = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (op === 'delete') {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else cur[last] = value;
  return copy;
}

describe('inbound robustness (property-based)', () => {
  let t: TestApp;
  let a: { id: string };
  let b: { id: string };
  let chA: { id: string };
  before(async () => {
    t = await startTestApp();
    a = await t.tenant();
    b = await t.tenant();
    chA = await makeChannel(t, a.id, 'cloud-api', cloudCreds('444000444'));
    await makeChannel(t, b.id, 'cloud-api', cloudCreds('555000555'));
  });
  after(() => closeApp(t));

  it('random mutations of signed payloads: never a 500, never a message under another tenant, valid ones never lost', async () => {
    let seq = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.constantFrom('delete' as const, 'replace' as const), fc.jsonValue({ maxDepth: 2 }), fc.boolean(), async (pick, op, value, signIt) => {
        seq += 1;
        const doc = JSON.parse(cloudPayload([
          { phoneNumberId: '444000444', from: '15554440000', id: `wamid.mut.${seq}` },
          { phoneNumberId: '555000555', from: '15555550000', id: `wamid.mutb.${seq}` },
        ])) as unknown;
        const all = paths(doc);
        const mutated = JSON.stringify(mutate(doc, all[pick % all.length]!, op, value) ?? null);
        const res = await postCloud(t, mutated, signIt ? sign(mutated) : sign(mutated, 'not-the-secret-000'));
        assert.ok(res.statusCode < 500, `status ${res.statusCode}: ${res.body}`);
        // A valid message posted right after is always stored.
        const ok = cloudPayload([{ phoneNumberId: '444000444', from: '15554449999', id: `wamid.valid.${seq}` }]);
        assert.equal((await postCloud(t, ok)).statusCode, 200);
      }),
      { numRuns: Number(process.env.INBOUND_PROPERTY_RUNS ?? 60), seed: Number(process.env.FC_SEED ?? 424242) },
    );
    await drainAll(t);
    const inB = await owner(t).selectFrom('messages').select(['channel_id', 'provider_message_id']).where('tenant_id', '=', b.id).execute();
    assert.ok(inB.every((m) => m.channel_id !== chA.id && !m.provider_message_id?.startsWith('wamid.mut.') && !m.provider_message_id?.startsWith('wamid.valid.')));
    const inA = await owner(t).selectFrom('messages').select(['provider_message_id']).where('tenant_id', '=', a.id).execute();
    const ids = new Set(inA.map((m) => m.provider_message_id));
    for (let i = 1; i <= seq; i++) assert.ok(ids.has(`wamid.valid.${i}`), `valid message ${i} lost`);
    assert.ok(inA.every((m) => !m.provider_message_id?.startsWith('wamid.mutb.')));
    const stuck = await owner(t).selectFrom('inbox').select('id').where('status', '=', 'pending').execute();
    assert.equal(stuck.length, 0);
  });
});
