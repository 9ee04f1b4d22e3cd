/**
 * The acknowledge path's group commit (InboxWriter on src/core/group-commit.ts): webhooks written
 * together share one statement, but a row the database refuses fails only its own request.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.js';
import { InboxWriter } from '../../src/inbound/inbox.js';
import { closeApp, cloudCreds, makeChannel, owner } from './support.js';

describe('inbox group commit', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => closeApp(t));

  it("a row naming another tenant's channel fails alone; the rows written with it are committed", async () => {
    const [a, b] = [await t.tenant(), await t.tenant()];
    const chA = await makeChannel(t, a.id, 'cloud-api', cloudCreds('555000111'));
    const chB = await makeChannel(t, b.id, 'cloud-api', cloudCreds('555000222'));
    const w = new InboxWriter(t.ctx);
    // The groups the writer is handed (its flush is looked up on the instance at each write).
    const groups: number[] = [];
    const spied = w as unknown as { flush: (g: unknown[]) => Promise<void> };
    const flush = spied.flush.bind(w);
    spied.flush = (g) => (groups.push(g.length), flush(g));
    const put = (tenantId: string, channelId: string, n: number) =>
      w.put({ tenantId, channelId, provider: 'cloud-api', body: Buffer.from(`{"n":${n}}`), headers: {}, split: false });
    // Put in one event-loop turn, the four are written as one group (decision 038), in which the
    // (tenant A, channel of B) row breaks the (tenant_id, channel_id) foreign key.
    const group = [put(a.id, chA.id, 0), put(a.id, chA.id, 1), put(a.id, chB.id, 2), put(b.id, chB.id, 3)];
    const results = await Promise.allSettled(group);
    assert.deepEqual(groups, [4], 'one group of four: the bad row was written beside the good ones');
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const rows = await owner(t).selectFrom('inbox').select(['tenant_id', 'channel_id', 'body']).where('tenant_id', 'in', [a.id, b.id]).execute();
    assert.deepEqual(rows.map((r) => [r.tenant_id, r.channel_id, r.body.toString()]).sort(), [
      [a.id, chA.id, '{"n":0}'], [a.id, chA.id, '{"n":1}'], [b.id, chB.id, '{"n":3}'],
    ].sort());
  });
  it('a group keeps every row its own body and headers, byte for byte, whatever the bytes and lengths', async () => {
    const a = await t.tenant();
    const ch = await makeChannel(t, a.id, 'cloud-api', cloudCreds('555000333'));
    const w = new InboxWriter(t.ctx);
    const bodies = [
      Buffer.from('{"a":1}'),
      Buffer.from([0x00, 0xff, 0xfe, 0x5c, 0x22, 0x7b, 0x7d, 0x2c]), // NUL, invalid UTF-8, \ " { } ,
      Buffer.alloc(1),
      Buffer.from('{"text":"caf\u00e9 \\ \"quoted\" ✓"}'),
      Buffer.alloc(70_000, 0x61),
      Buffer.from('{"z":2}'),
    ];
    const headers = bodies.map((_, i) => ({ 'content-type': 'application/json', 'x-hub-signature-256': `sha256="${i}"\\{}`, ...(i === 2 ? {} : { 'user-agent': `ua ${i}` }) }));
    const ids = await Promise.all(bodies.map((body, i) => w.put({ tenantId: a.id, channelId: ch.id, provider: 'cloud-api', body, headers: headers[i]!, split: i % 2 === 0 })));
    const rows = await owner(t).selectFrom('inbox').select(['id', 'body', 'headers', 'split']).where('tenant_id', '=', a.id).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    assert.equal(rows.length, bodies.length);
    ids.forEach((id, i) => {
      const r = byId.get(id)!;
      assert.ok(r.body.equals(bodies[i]!), `body ${i}`);
      assert.deepEqual(r.headers, headers[i], `headers ${i}`);
      assert.equal(r.split, i % 2 === 0);
    });
  });
});
