import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { buildApp, type App } from '../../src/http/app.js';
import { openDatabase, type Database } from '../../src/db/db.js';
import { idTime, openStreams } from '../../src/events/stream.js';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { closeApp, cloudCreds, cloudPayload, drainAll, makeChannel, postCloud, sseClient as connect, until, type SseStream as Stream } from './support.js';

describe('GET /v1/events/stream (SSE)', () => {
  let t: TestApp;
  let second: { app: App; database: Database };
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let port1 = 0;
  let port2 = 0;
  before(async () => {
    t = await startTestApp();
    a = await t.tenant();
    b = await t.tenant();
    await makeChannel(t, a.id, 'cloud-api', cloudCreds('121000121'));
    await makeChannel(t, b.id, 'cloud-api', cloudCreds('131000131'));
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port1 = (t.app.server.address() as AddressInfo).port;
    // A second Switchboard process: its own app and pool on the same database.
    const database = openDatabase(t.testDb.appUrl, 4);
    const app = await buildApp({ ...t.ctx, db: database.db });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port2 = (app.server.address() as AddressInfo).port;
    second = { app, database };
  });
  after(async () => {
    await second.app.close();
    await second.database.close();
    await closeApp(t);
  });

  const inbound = async (line: string, id: string) => {
    assert.equal((await postCloud(t, cloudPayload([{ phoneNumberId: line, from: '15550009876', id }]))).statusCode, 200);
    await drainAll(t);
  };
  const ids = (s: Stream) => s.events.map((e) => e.data.data.provider_message_id);

  it('streams the tenant’s events to a client of another process, never another tenant’s', async () => {
    const sA = await connect(port2, a.key);
    const sB = await connect(port2, b.key);
    await new Promise((r) => setTimeout(r, 300));
    await inbound('121000121', 'wamid.sse1');
    await inbound('131000131', 'wamid.sseB');
    await until('both tenants streamed', () => sA.events.length >= 1 && sB.events.length >= 1);
    assert.deepEqual(ids(sA), ['wamid.sse1']);
    assert.deepEqual(ids(sB), ['wamid.sseB']);
    assert.equal(sA.events[0]!.type, 'message.received');
    sB.close();
    // sA stays open: shutdown must end it rather than hang (after()).
  });

  it('resumes after Last-Event-ID with exactly the missed events after it, repeating only the window before it', async () => {
    const s1 = await connect(port1, a.key);
    await new Promise((r) => setTimeout(r, 300));
    await inbound('121000121', 'wamid.sse2');
    await until('the first event', () => s1.events.length >= 1);
    const last = s1.events[s1.events.length - 1]!.id;
    s1.close();
    await inbound('121000121', 'wamid.sse3');
    await inbound('121000121', 'wamid.sse4');
    const s2 = await connect(port2, a.key, last);
    await until('the missed events', () => s2.events.filter((e) => e.id > last).length >= 2);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(ids({ ...s2, events: s2.events.filter((e) => e.id > last) }), ['wamid.sse3', 'wamid.sse4']);
    // Below Last-Event-ID only the 5 s window again, each once, never Last-Event-ID itself: the
    // client may lack an event there that committed late (decision 044).
    const before = s2.events.filter((e) => e.id <= last);
    assert.ok(before.every((e) => e.id < last && idTime(e.id) > idTime(last) - 5_000));
    assert.deepEqual(before.map((e) => e.id), [...new Set(before.map((e) => e.id))]);
    assert.ok(ids({ ...s2, events: before }).every((m) => m === 'wamid.sse1'));
    s2.close();
  });

  it('refuses a malformed Last-Event-ID and an unauthenticated client', async () => {
    const bad = await t.app.inject({ method: 'GET', url: '/v1/events/stream', headers: { authorization: `Bearer ${a.key}`, 'last-event-id': 'nope' } });
    assert.equal(bad.statusCode, 400);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/events/stream' })).statusCode, 401);
    // Letters ULIDs never use (I, L, O, U) made a negative time and a resume from the tenant's whole
    // history; an id from the future would hold the cursor above every event to come.
    const future = `evt_${'7ZZZZZZZZZ'}${'0'.repeat(16)}`;
    for (const id of [`evt_U${'0'.repeat(25)}`, `evt_01J${'O'.repeat(23)}`, future]) {
      for (const via of [{ headers: { 'last-event-id': id } }, { query: `?last_event_id=${id}` }]) {
        const res = await t.app.inject({ method: 'GET', url: `/v1/events/stream${'query' in via ? via.query : ''}`, headers: { authorization: `Bearer ${a.key}`, ...('headers' in via ? via.headers : {}) } });
        assert.equal(res.statusCode, 400, `${id} ${JSON.stringify(via)}`);
      }
    }
  });
});

describe('GET /v1/events/stream: the credential is checked again while streaming', () => {
  let t: TestApp;
  let port = 0;
  before(async () => {
    t = await startTestApp({}, { sseHeartbeatSeconds: 1 });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(() => closeApp(t));

  it("a revoked key's stream ends within a heartbeat, and its reconnect is refused; another key's stream goes on", async () => {
    const a = await t.tenant();
    const create = async () => (await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(a.key), payload: { name: 'sse', scopes: ['webhooks:read'] } })).json() as { id: string; key: string };
    const [doomed, kept] = [await create(), await create()];
    const [s1, s2] = [await connect(port, doomed.key), await connect(port, kept.key)];
    await new Promise((r) => setTimeout(r, 1_200));
    assert.equal(s1.ended, false, 'a valid credential keeps its stream');
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${doomed.id}`, headers: bearer(a.key) })).statusCode, 200);
    await until('the revoked stream ended', () => s1.ended, 3_000);
    await assert.rejects(connect(port, doomed.key), /status 401/);
    assert.equal(s2.ended, false);
    s2.close();
  });
});

describe('GET /v1/events/stream: clients that go before their stream starts', () => {
  let t: TestApp;
  let a: { id: string; key: string };
  let port = 0;
  before(async () => {
    t = await startTestApp();
    a = await t.tenant();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(() => closeApp(t));

  it('a client gone while its request was authenticated leaves no stream behind', async () => {
    await until('no stream open', () => openStreams() === 0); // the earlier suites' streams, ended when their apps closed
    await Promise.all(Array.from({ length: 10 }, () => new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write(`GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${a.key}\r\n\r\n`, () => setImmediate(() => {
          s.destroy();
          resolve();
        }));
      });
    })));
    // Whatever got as far as streaming before the close ends with it; nothing is left open.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(openStreams(), 0);
  });
});
