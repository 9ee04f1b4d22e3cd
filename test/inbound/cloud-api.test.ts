import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../support/app.js';
import { inboundPipeline } from '../../src/inbound/pipeline.js';
import { closeApp, cloudCreds, cloudPayload, drainAll, holdProcessing, makeChannel, owner, postCloud, sign } from './support.js';

describe('Cloud API ingress', () => {
  let t: TestApp;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  before(async () => {
    t = await startTestApp();
    a = await t.tenant();
    b = await t.tenant();
    await makeChannel(t, a.id, 'cloud-api', cloudCreds('111000111'));
    await makeChannel(t, b.id, 'cloud-api', cloudCreds('222000222'));
    await makeChannel(t, b.id, 'cloud-api', cloudCreds('333000333', 'another-app-secret-xyz'));
  });
  after(() => closeApp(t));

  const messages = (tenant: string) => owner(t).selectFrom('messages').selectAll().where('tenant_id', '=', tenant).orderBy('id').execute();

  it('stores before acknowledging and processes every message of a batch', async () => {
    const body = cloudPayload([
      { phoneNumberId: '111000111', from: '15550000001', id: 'wamid.batch1' },
      { phoneNumberId: '111000111', from: '15550000002', id: 'wamid.batch2' },
      { phoneNumberId: '111000111', from: '15550000003', id: 'wamid.batch3' },
    ]);
    const release = await holdProcessing(t);
    let res;
    try {
      res = await postCloud(t, body);
      assert.equal(res.statusCode, 200, res.body);
      // The row is committed by the time the answer exists (persist-then-acknowledge), while
      // processing is held.
      const rows = await owner(t).selectFrom('inbox').select(['id', 'tenant_id', 'status']).where('tenant_id', '=', a.id).execute();
      assert.deepEqual(rows.map((r) => r.status), ['pending']);
    } finally {
      await release();
    }
    await drainAll(t);
    // Processed rows are deleted: their content lives on in messages and events.
    assert.equal((await owner(t).selectFrom('inbox').select('id').where('tenant_id', '=', a.id).execute()).length, 0);
    const got = (await messages(a.id)).filter((m) => m.provider_message_id?.startsWith('wamid.batch'));
    assert.deepEqual(got.map((m) => [m.provider_message_id, m.peer]).sort(), [
      ['wamid.batch1', '+15550000001'], ['wamid.batch2', '+15550000002'], ['wamid.batch3', '+15550000003'],
    ]);
  });

  it('redelivered and duplicated webhooks create no second message or event', async () => {
    const body = cloudPayload([{ phoneNumberId: '111000111', from: '15550000009', id: 'wamid.dup' }, { phoneNumberId: '111000111', from: '15550000009', id: 'wamid.dup' }]);
    for (let i = 0; i < 3; i++) assert.equal((await postCloud(t, body)).statusCode, 200);
    await drainAll(t);
    const dup = (await messages(a.id)).filter((m) => m.provider_message_id === 'wamid.dup');
    assert.equal(dup.length, 1);
    const events = await owner(t).selectFrom('events').select('id').where('tenant_id', '=', a.id).where(sql<boolean>`data->>'provider_message_id' = 'wamid.dup'`).execute();
    assert.equal(events.length, 1);
  });

  it('a NUL character or half a surrogate pair in a message (PostgreSQL stores neither) costs no message of the webhook', async () => {
    const body = cloudPayload([
      { phoneNumberId: '111000111', from: '15550000021', id: 'wamid.nul', text: 'a\u0000b', name: 'N\u0000' },
      { phoneNumberId: '111000111', from: '15550000022', id: 'wamid.surrogate', text: 'x\ud800y' },
      { phoneNumberId: '111000111', from: '15550000023', id: 'wamid.plain', text: 'fine 😀' },
    ]);
    assert.equal((await postCloud(t, body)).statusCode, 200);
    await drainAll(t);
    const got = Object.fromEntries((await messages(a.id)).filter((m) => ['wamid.nul', 'wamid.surrogate', 'wamid.plain'].includes(m.provider_message_id!))
      .map((m) => [m.provider_message_id, (m.content as { text: string }).text]));
    assert.deepEqual(got, { 'wamid.nul': 'a\uFFFDb', 'wamid.surrogate': 'x\uFFFDy', 'wamid.plain': 'fine 😀' });
    const contact = await owner(t).selectFrom('contacts').select('profile_name').where('tenant_id', '=', a.id).where('address', '=', '+15550000021').executeTakeFirstOrThrow();
    assert.equal(contact.profile_name, 'N\uFFFD');
  });

  it('a message time PostgreSQL cannot store (past year 9999) takes the entry time; the webhook loses nothing', async () => {
    const body = cloudPayload([
      { phoneNumberId: '111000111', from: '15550000024', id: 'wamid.far-future', text: 'from the future', ts: 999_999_999_999 },
      { phoneNumberId: '111000111', from: '15550000025', id: 'wamid.same-batch', text: 'beside it' },
    ]);
    assert.equal((await postCloud(t, body)).statusCode, 200);
    await drainAll(t);
    const got = (await messages(a.id)).filter((m) => ['wamid.far-future', 'wamid.same-batch'].includes(m.provider_message_id!));
    assert.equal(got.length, 2);
    const parked = await owner(t).selectFrom('inbox').select('status').where('tenant_id', '=', a.id).where('status', '=', 'rejected').execute();
    assert.equal(parked.length, 0);
  });

  it('a POST naming more line ids than Meta ever sends is refused before any lookup', async () => {
    const lines = Array.from({ length: 101 }, (_, i) => String(700_000_000 + i));
    const body = cloudPayload(lines.map((phoneNumberId) => ({ phoneNumberId, from: '15550000026' })));
    const res = await postCloud(t, body, null);
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().code, 'validation_failed');
    const within = cloudPayload([...lines.slice(0, 99), '111000111'].map((phoneNumberId) => ({ phoneNumberId, from: '15550000027', id: `wamid.cap.${phoneNumberId}` })));
    assert.equal((await postCloud(t, within)).statusCode, 200, 'a hundred are still routed');
    await drainAll(t);
  });

  it('a channel deleted while its route is cached: the line is unroutable (404), not a server error; a batch keeps its other lines', async () => {
    const ch = await makeChannel(t, a.id, 'cloud-api', cloudCreds('444000444'));
    assert.equal((await postCloud(t, cloudPayload([{ phoneNumberId: '444000444', from: '15550000028' }]))).statusCode, 200, 'route cached');
    await drainAll(t);
    await owner(t).deleteFrom('channels').where('id', '=', ch.id).execute();
    const gone = await postCloud(t, cloudPayload([{ phoneNumberId: '444000444', from: '15550000029' }]));
    assert.equal(gone.statusCode, 404, gone.body);
    assert.equal(gone.json().code, 'webhook_unroutable');
    const mixed = await postCloud(t, cloudPayload([{ phoneNumberId: '444000444', from: '15550000030' }, { phoneNumberId: '111000111', from: '15550000031', id: 'wamid.beside-gone' }]));
    assert.equal(mixed.statusCode, 200, mixed.body);
    assert.equal(mixed.json().accepted, 1);
    await drainAll(t);
    assert.ok((await messages(a.id)).some((m) => m.provider_message_id === 'wamid.beside-gone'));
  });

  it("a line moved to another tenant's channel: the next webhook goes to the new owner at once, not after the route cache's 5 s", async () => {
    const x = await makeChannel(t, a.id, 'cloud-api', cloudCreds('555000555'));
    assert.equal((await postCloud(t, cloudPayload([{ phoneNumberId: '555000555', from: '15550000032' }]))).statusCode, 200, 'route cached');
    await drainAll(t);
    // Tenant A's channel takes another line; tenant B's new channel the freed one (same Meta app).
    await owner(t).updateTable('channels').set({ external_id: '556000556' }).where('id', '=', x.id).execute();
    const y = await makeChannel(t, b.id, 'cloud-api', cloudCreds('555000555'));
    await new Promise((r) => setTimeout(r, 300)); // the NOTIFY's way to this process
    assert.equal((await postCloud(t, cloudPayload([{ phoneNumberId: '555000555', from: '15550000033', id: 'wamid.after-move' }]))).statusCode, 200);
    await drainAll(t);
    const stored = await owner(t).selectFrom('messages').select(['tenant_id', 'channel_id']).where('provider_message_id', '=', 'wamid.after-move').execute();
    assert.deepEqual(stored, [{ tenant_id: b.id, channel_id: y.id }]);
  });

  it('a row whose events all name another line than its channel now has is kept as rejected, not dropped', async () => {
    const z = await makeChannel(t, a.id, 'cloud-api', cloudCreds('557000557'));
    const body = cloudPayload([{ phoneNumberId: '558000558', from: '15550000034', id: 'wamid.other-line' }]);
    // As if routed to z just before z's line changed: the row names a line z no longer has.
    const { inbox } = inboundPipeline(t.ctx);
    await inbox.put({ tenantId: a.id, channelId: z.id, provider: 'cloud-api', body: Buffer.from(body), headers: {}, split: false });
    await drainAll(t);
    const row = await owner(t).selectFrom('inbox').select(['status', 'error']).where('channel_id', '=', z.id).executeTakeFirstOrThrow();
    assert.equal(row.status, 'rejected');
    assert.match(String(row.error), /another line/);
    assert.equal((await messages(a.id)).filter((m) => m.provider_message_id === 'wamid.other-line').length, 0);
  });

  it('splits a batch spanning two tenants: each gets only its line, no row holds the other body', async () => {
    const body = cloudPayload([
      { phoneNumberId: '111000111', from: '15551110000', id: 'wamid.tenantA', text: 'secret for A' },
      { phoneNumberId: '222000222', from: '15552220000', id: 'wamid.tenantB', text: 'secret for B' },
    ]);
    const release = await holdProcessing(t);
    try {
      assert.equal((await postCloud(t, body)).statusCode, 200);
      const rowsA = await owner(t).selectFrom('inbox').select(['body', 'split']).where('tenant_id', '=', a.id).where('split', '=', true).execute();
      assert.equal(rowsA.length, 1);
      assert.ok(rowsA[0]!.body.toString().includes('secret for A'));
      assert.ok(!rowsA[0]!.body.toString().includes('secret for B'));
    } finally {
      await release();
    }
    await drainAll(t);
    const inA = (await messages(a.id)).map((m) => m.provider_message_id);
    const inB = (await messages(b.id)).map((m) => m.provider_message_id);
    assert.ok(inA.includes('wamid.tenantA') && !inA.includes('wamid.tenantB'));
    assert.ok(inB.includes('wamid.tenantB') && !inB.includes('wamid.tenantA'));
  });

  it('a batch where one line has another app secret stores only the line whose secret verifies', async () => {
    const body = cloudPayload([
      { phoneNumberId: '222000222', from: '15552220001', id: 'wamid.okline' },
      { phoneNumberId: '333000333', from: '15553330001', id: 'wamid.otherapp' },
    ]);
    assert.equal((await postCloud(t, body)).statusCode, 200);
    await drainAll(t);
    const inB = (await messages(b.id)).map((m) => m.provider_message_id);
    assert.ok(inB.includes('wamid.okline'));
    assert.ok(!inB.includes('wamid.otherapp'));
  });

  it('strict mode: bad signature, unknown line, malformed JSON and huge bodies are refused without processing', async () => {
    const before = await owner(t).selectFrom('inbox').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    const good = cloudPayload([{ phoneNumberId: '111000111', from: '15550000077', id: 'wamid.badsig', text: 'BODY-MUST-NOT-BE-LOGGED' }]);
    const bad = await postCloud(t, good, sign(good, 'wrong-secret-123456'));
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.json().code, 'webhook_signature_invalid');
    assert.equal((await postCloud(t, good, null)).statusCode, 401);
    const unknown = cloudPayload([{ phoneNumberId: '999999999', from: '15550000078' }]);
    const u = await postCloud(t, unknown);
    assert.equal(u.statusCode, 404);
    assert.equal(u.json().code, 'webhook_unroutable');
    const malformed = await postCloud(t, '{"object": "whatsapp_business_account", "entry": [', sign('{"object": "whatsapp_business_account", "entry": ['));
    assert.equal(malformed.statusCode, 400);
    const odd = await postCloud(t, 'not json at all', sign('not json at all'), 'text/plain');
    assert.equal(odd.statusCode, 400);
    const huge = await postCloud(t, `{"x":"${'a'.repeat(2 * 1024 * 1024)}"}`);
    assert.equal(huge.statusCode, 413);
    const afterCount = await owner(t).selectFrom('inbox').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    assert.equal(afterCount.n, before.n);
    const rejects = await owner(t).selectFrom('inbound_rejects').selectAll().execute();
    assert.ok(rejects.some((r) => r.reason === 'bad_signature' && r.routing_keys.includes('111000111')));
    assert.ok(rejects.some((r) => r.reason === 'unroutable' && r.routing_keys.includes('999999999')));
    assert.ok(rejects.some((r) => r.reason === 'malformed'));
    assert.ok(!t.logs.some((l) => l.includes('BODY-MUST-NOT-BE-LOGGED')));
    assert.ok(t.logs.some((l) => l.includes('inbound webhook refused') && l.includes('999999999')));
  });

  it('answers the verification handshake with any channel verify token, else 403', async () => {
    const ok = await t.app.inject({ method: 'GET', url: '/webhooks/cloud-api?hub.mode=subscribe&hub.verify_token=vt-222000222&hub.challenge=12345' });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body, '12345');
    const no = await t.app.inject({ method: 'GET', url: '/webhooks/cloud-api?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=12345' });
    assert.equal(no.statusCode, 403);
  });

  it('applies status updates monotonically to outbound messages', async () => {
    const ch = await owner(t).selectFrom('channels').select('id').where('external_id', '=', '111000111').executeTakeFirstOrThrow();
    await postCloud(t, cloudPayload([{ phoneNumberId: '111000111', from: '15550004444', id: 'wamid.seed' }]));
    await drainAll(t);
    const seed = (await messages(a.id)).find((m) => m.provider_message_id === 'wamid.seed')!;
    await owner(t).insertInto('messages').values({ tenant_id: a.id, id: 'msg_01JZZZZZZZZZZZZZZZZZZZZZZZ', channel_id: ch.id, conversation_id: seed.conversation_id, direction: 'out', status: 'sent', type: 'text', content: '{"type":"text","text":"hi"}', peer: '+15550004444', provider_message_id: 'wamid.out1' } as never).execute();
    const read = cloudPayload([], [{ phoneNumberId: '111000111', id: 'wamid.out1', status: 'read', ts: 1700000100 }]);
    const delivered = cloudPayload([], [{ phoneNumberId: '111000111', id: 'wamid.out1', status: 'delivered', ts: 1700000050 }]);
    assert.equal((await postCloud(t, read)).statusCode, 200);
    await drainAll(t);
    assert.equal((await postCloud(t, delivered)).statusCode, 200);
    await drainAll(t);
    const out = (await messages(a.id)).find((m) => m.provider_message_id === 'wamid.out1')!;
    assert.equal(out.status, 'read');
    assert.ok(out.read_at && out.delivered_at);
  });

  it(`stores ${Number(process.env.INBOUND_TEST_SCALE ?? 300)} concurrent messages from as many senders under the right sender`, async () => {
    const n = Number(process.env.INBOUND_TEST_SCALE ?? 300);
    const senders = Array.from({ length: n }, (_, i) => `1555${String(7000000 + i)}`);
    const results = await Promise.all(senders.map((from) => postCloud(t, cloudPayload([{ phoneNumberId: '222000222', from, id: `wamid.conc.${from}`, text: `I am ${from}`, name: `N${from}` }]))));
    assert.ok(results.every((r) => r.statusCode === 200));
    await drainAll(t);
    const rows = await owner(t).selectFrom('messages').innerJoin('conversations', 'conversations.id', 'messages.conversation_id').innerJoin('contacts', 'contacts.id', 'conversations.contact_id')
      .select(['messages.provider_message_id', 'messages.peer', 'messages.content', 'contacts.address', 'contacts.profile_name'])
      .where('messages.tenant_id', '=', b.id).where('messages.provider_message_id', 'like', 'wamid.conc.%').execute();
    assert.equal(rows.length, n);
    for (const r of rows) {
      const from = r.provider_message_id!.slice('wamid.conc.'.length);
      assert.equal(r.peer, `+${from}`);
      assert.equal(r.address, `+${from}`);
      assert.equal(r.profile_name, `N${from}`);
      assert.equal((r.content as { text: string }).text, `I am ${from}`);
    }
  });

});
