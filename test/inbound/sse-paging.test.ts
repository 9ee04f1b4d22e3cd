import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { KyselyPlugin } from 'kysely';
import { buildApp, type App } from '../../src/http/app.js';
import { newId } from '../../src/core/ids.js';
import { asTenantId, withTenant } from '../../src/db/db.js';
import { emitEvent, emitEvents } from '../../src/events/emit.js';
import { idFloor } from '../../src/events/stream.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { closeApp, sseClient as connect, until } from './support.js';

/**
 * SSE paging and late commits (decision 044), over real HTTP against a second app whose database
 * handle counts the statements it runs: a stream with nothing to send must run none.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dupes = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);
/** An event id made `ago` ms before now: an event whose transaction commits that late. */
const madeAgo = (ago: number) => idFloor(Date.now() - ago).slice(0, -16) + newId('evt').slice(-16);

describe('GET /v1/events/stream: paging and late commits', () => {
  let t: TestApp;
  let app: App;
  let port = 0;
  let statements = 0;
  before(async () => {
    t = await startTestApp();
    const counter: KyselyPlugin = {
      transformQuery: (args) => {
        statements++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    app = await buildApp({ ...t.ctx, db: t.ctx.db.withPlugin(counter) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await app.close();
    await closeApp(t);
  });

  /**
   * Statements the counted app runs over 2.1 s, after 2.1 s for the safety poll (one statement
   * every 2 s) to have woken the stream once for the events it last sent (every wake reads).
   * A stream that goes quiet adds nothing to the poll.
   */
  const statementsWhenSettled = async () => {
    await sleep(2100);
    const before = statements;
    await sleep(2100);
    return statements - before;
  };
  const allIds = (tenantId: string) =>
    withTenant(t.ctx.db, asTenantId(tenantId), (tx) => tx.selectFrom('events').select('id').orderBy('id').execute()).then((r) => r.map((e) => e.id));
  const insertWithId = (tenantId: string, id: string) =>
    withTenant(t.ctx.db, asTenantId(tenantId), (tx) => tx.insertInto('events').values({ tenant_id: tenantId, id, type: 'conversation.updated', channel_id: null, data: JSON.stringify({ id }) }).execute());

  it('sends all 600 events one transaction committed, in order, once; then reads nothing', async () => {
    const a = await t.tenant();
    const s = await connect(port, a.key);
    await sleep(300);
    await withTenant(t.ctx.db, asTenantId(a.id), (tx) =>
      emitEvents(tx, a.id, Array.from({ length: 600 }, (_, i) => ({ type: 'conversation.updated' as const, channelId: null, data: { i } }))));
    await until('600 events streamed', () => s.ids.length >= 600);
    await sleep(300);
    assert.deepEqual(s.ids, await allIds(a.id));
    // Before decision 044 it re-read the same 500 rows ~190 times a second and never sent the rest.
    assert.ok((await statementsWhenSettled()) <= 2, 'an idle stream runs no statements');

    // Resume from the 100th: the window below it again (they may be missed otherwise), never the
    // 100th itself, the 500 after it in pages of 500, each once.
    const last = s.ids[99]!;
    s.close();
    const r = await connect(port, a.key, last);
    await until('599 events streamed on resume', () => r.ids.length >= 599);
    await sleep(300);
    assert.deepEqual(dupes(r.ids), []);
    assert.ok(!r.ids.includes(last));
    assert.deepEqual(r.ids.filter((id) => id > last), s.ids.slice(100));
    assert.equal(r.ids.length, 599);
    assert.ok((await statementsWhenSettled()) <= 2, 'an idle resumed stream runs no statements');
    r.close();
  });

  it('live: an event committed 3 s after its id was made, 2.5 s after later ones were sent, is sent once', async () => {
    const a = await t.tenant();
    const s = await connect(port, a.key);
    await sleep(300);
    const emit = () => withTenant(t.ctx.db, asTenantId(a.id), (tx) => emitEvent(tx, { tenantId: a.id, type: 'conversation.updated', data: {} }));
    let x = '';
    const slow = withTenant(t.ctx.db, asTenantId(a.id), async (tx) => {
      x = await emitEvent(tx, { tenantId: a.id, type: 'conversation.updated', data: { slow: true } });
      await sleep(3000);
    });
    await sleep(100);
    const y = await emit();
    await until('y streamed', () => s.ids.includes(y));
    await sleep(2400);
    // w is the newest sent when x commits, 2.5 s after x was made: beyond the former 2 s window.
    const w = await emit();
    await until('w streamed', () => s.ids.includes(w));
    await slow;
    await until('x streamed after it committed', () => s.ids.includes(x));
    const z = await emit();
    await until('z streamed', () => s.ids.includes(z));
    await sleep(400);
    assert.deepEqual(s.ids, [y, w, x, z]);
    s.close();
  });

  it('resume: an event that committed after a later one was sent and the client left is sent', async () => {
    const a = await t.tenant();
    let x = '';
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow = withTenant(t.ctx.db, asTenantId(a.id), async (tx) => {
      x = await emitEvent(tx, { tenantId: a.id, type: 'conversation.updated', data: { slow: true } });
      await held;
    });
    await sleep(50);
    const y = await withTenant(t.ctx.db, asTenantId(a.id), (tx) => emitEvent(tx, { tenantId: a.id, type: 'conversation.updated', data: {} }));
    const s1 = await connect(port, a.key, idFloor(Date.now() - 60_000));
    await until('y streamed', () => s1.ids.includes(y));
    s1.close();
    release();
    await slow;
    const s2 = await connect(port, a.key, y);
    await until('x streamed on resume', () => s2.ids.includes(x));
    await sleep(300);
    assert.deepEqual(s1.ids, [y]);
    assert.deepEqual(s2.ids, [x]);
    s2.close();
  });

  it('resume re-reads a bounded window below Last-Event-ID, not the whole history', async () => {
    const a = await t.tenant();
    const old = madeAgo(20_000);
    const inside = madeAgo(3_000);
    const last = madeAgo(1_000);
    for (const id of [old, inside, last]) await insertWithId(a.id, id);
    const s = await connect(port, a.key, last);
    await until('the window below Last-Event-ID re-sent', () => s.ids.length >= 1);
    const after = await withTenant(t.ctx.db, asTenantId(a.id), (tx) => emitEvent(tx, { tenantId: a.id, type: 'conversation.updated', data: {} }));
    await until('a new event streamed', () => s.ids.includes(after));
    await sleep(300);
    assert.deepEqual(s.ids, [inside, after]);
    s.close();
  });

  it('a Last-Event-ID that names no event still resumes after it, and the stream stays quiet', async () => {
    const a = await t.tenant();
    const e1 = madeAgo(2_000);
    await insertWithId(a.id, e1);
    const s = await connect(port, a.key, madeAgo(1_000));
    await until('the window re-sent', () => s.ids.length >= 1);
    const e2 = await withTenant(t.ctx.db, asTenantId(a.id), (tx) => emitEvent(tx, { tenantId: a.id, type: 'conversation.updated', data: {} }));
    await until('a new event streamed', () => s.ids.includes(e2));
    await sleep(300);
    assert.deepEqual(s.ids, [e1, e2]);
    assert.ok((await statementsWhenSettled()) <= 2);
    s.close();
  });
});
