/**
 * The inline fast path (`sb_ingest_received`, decision 026) against the general path
 * (`processInboxRows` → `applyReceivedBatch`): the same webhooks must produce the same messages,
 * contacts, conversations and events, and the fast path must take only what it is given.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.js';
import { ingestReceived } from '../../src/inbound/ingest-received.js';
import { processInboxRows, type InboxItem } from '../../src/inbound/normalise.js';
import { newId } from '../../src/core/ids.js';
import { closeApp, cloudCreds, cloudPayload, makeChannel, owner, until, type CloudMsg } from './support.js';

describe('inbound fast path', () => {
  let t: TestApp;
  const tenants: { id: string; channelId: string; line: string }[] = [];
  before(async () => {
    t = await startTestApp();
    for (const line of ['444000111', '444000222']) {
      const ten = await t.tenant();
      const ch = await makeChannel(t, ten.id, 'cloud-api', cloudCreds(line));
      tenants.push({ id: ten.id, channelId: ch.id, line });
    }
  });
  after(() => closeApp(t));

  /** Writes inbox rows as ingress does and returns them as the inline processor holds them. */
  async function inbox(ten: (typeof tenants)[number], bodies: string[]): Promise<InboxItem[]> {
    const items = bodies.map((body) => ({ tenantId: ten.id, id: newId('inb'), channelId: ten.channelId, externalId: ten.line, provider: 'cloud-api', body: Buffer.from(body), headers: { 'content-type': 'application/json' } }));
    for (const it of items) await sql`select sb_inbox_put(${it.tenantId}, ${it.id}, ${it.channelId}, 'cloud-api', ${it.body}, ${JSON.stringify(it.headers)}::jsonb, false)`.execute(t.ctx.db);
    return items;
  }

  const snapshot = async (tenantId: string) => {
    const o = owner(t);
    const messages = await o.selectFrom('messages').select(['direction', 'status', 'type', 'content', 'peer', 'sender', 'provider_message_id', 'reply_to', 'metadata'])
      .where('tenant_id', '=', tenantId).orderBy('provider_message_id').execute();
    const contacts = await o.selectFrom('contacts').select(['address', 'profile_name', 'is_group']).where('tenant_id', '=', tenantId).orderBy('address').execute();
    const conversations = await o.selectFrom('conversations').innerJoin('contacts', 'contacts.id', 'conversations.contact_id')
      .select(['contacts.address', 'conversations.status', 'conversations.unread_count', 'conversations.last_message_at'])
      .where('conversations.tenant_id', '=', tenantId).orderBy('contacts.address').execute();
    const events = (await o.selectFrom('events').select(['type', 'data']).where('tenant_id', '=', tenantId).orderBy('id').execute())
      .map((e) => {
        const d = { ...(e.data as Record<string, unknown>) };
        for (const k of ['message_id', 'conversation_id', 'contact_id', 'channel_id']) {
          assert.match(String(d[k]), /^[a-z]{3}_[0-9A-Z]{26}$/, `${k} is an id`);
          delete d[k];
        }
        return { type: e.type, data: d };
      });
    const pending = await o.selectFrom('inbox').select('id').where('tenant_id', '=', tenantId).execute();
    return { messages, contacts, conversations, events, pending: pending.length };
  };

  it('writes exactly what the general path writes, and deletes the rows it took', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const script = (line: string): string[] => {
      const m = (x: Omit<CloudMsg, 'phoneNumberId'>): CloudMsg => ({ phoneNumberId: line, ...x });
      return [
        cloudPayload([m({ from: '15559990001', id: 'wamid.f1', name: 'Ann' }), m({ from: '15559990002', id: 'wamid.f2', name: 'Bo' })]),
        cloudPayload([m({ from: '15559990001', id: 'wamid.f3', name: 'Ann B.' })]), // existing contact, new name
        cloudPayload([m({ from: '15559990001', id: 'wamid.f1', name: 'Ann' })]), // redelivery
      ].map((b) => b.replace(/"timestamp":"\d+"/g, `"timestamp":"${ts}"`));
    };
    const [fast, general] = tenants;
    // Fast path: one call for everything.
    const left = await ingestReceived(t.ctx, fast!.id, await inbox(fast!, script(fast!.line)));
    assert.deepEqual(left, [], 'every row was new messages only: nothing for the general path');
    // General path: the same webhooks through processInboxRows, one transaction.
    const items = await inbox(general!, script(general!.line));
    assert.equal(await processInboxRows(t.ctx, general!.id, items.map((i) => i.id)), items.length);
    const a = await snapshot(fast!.id);
    const b = await snapshot(general!.id);
    assert.equal(a.pending, 0, 'the fast path deleted the rows it processed');
    assert.deepEqual(a.messages.map((m) => m.provider_message_id), ['wamid.f1', 'wamid.f2', 'wamid.f3'], 'the redelivery stored nothing');
    assert.deepEqual(a.contacts.find((c) => c.address === '+15559990001')?.profile_name, 'Ann B.');
    assert.deepEqual(a.conversations.map((c) => [c.address, c.unread_count]), [['+15559990001', 2], ['+15559990002', 1]]);
    assert.equal(a.events.length, 3);
    assert.deepEqual(a, b, 'fast and general paths agree on every row and event');
  });

  it("a new contact takes the name of the batch's last event that gives one: an echo of our reply after it names nobody (general path)", async () => {
    const ts = Math.floor(Date.now() / 1000);
    const body = (line: string) => {
      const doc = JSON.parse(cloudPayload([{ phoneNumberId: line, from: '15559990071', id: `wamid.zoe${line}`, name: 'Zoe' }]).replace(/"timestamp":"\d+"/g, `"timestamp":"${ts}"`)) as
        { entry: { changes: { field: string; value: { metadata: unknown } }[] }[] };
      const change = doc.entry[0]!.changes[0]!;
      // The business's reply from the WhatsApp Business app, in the same webhook (coexistence echo).
      doc.entry[0]!.changes.push({ field: 'smb_message_echoes', value: { messaging_product: 'whatsapp', metadata: change.value.metadata,
        message_echoes: [{ from: line, to: '15559990071', id: `wamid.echo${line}`, timestamp: String(ts + 1), type: 'text', text: { body: 'hi Zoe' } }] } as never });
      return JSON.stringify(doc);
    };
    const [fast, general] = tenants;
    // A row holding an echo goes to the general path, which applies the receipts parked for it
    // (decision 058): the fast path hands it back untouched.
    const echoRows = await inbox(fast!, [body(fast!.line)]);
    assert.deepEqual((await ingestReceived(t.ctx, fast!.id, echoRows)).map((r) => r.id), echoRows.map((r) => r.id));
    assert.equal(await processInboxRows(t.ctx, fast!.id, echoRows.map((i) => i.id)), 1);
    const items = await inbox(general!, [body(general!.line)]);
    assert.equal(await processInboxRows(t.ctx, general!.id, items.map((i) => i.id)), 1);
    for (const ten of [fast!, general!]) {
      const zoe = (await snapshot(ten.id)).contacts.find((c) => c.address === '+15559990071');
      assert.equal(zoe?.profile_name, 'Zoe', ten === fast ? 'fast path' : 'general path');
    }
    // The fast path's own form of the rule: a customer's message whose contact entry gives no name,
    // after one that does, in one call, names nobody (both paths agree).
    const pair = (line: string) => {
      const named = cloudPayload([{ phoneNumberId: line, from: '15559990072', id: `wamid.yan1${line}`, name: 'Yan' }]).replace(/"timestamp":"\d+"/g, `"timestamp":"${ts}"`);
      const doc = JSON.parse(cloudPayload([{ phoneNumberId: line, from: '15559990072', id: `wamid.yan2${line}` }]).replace(/"timestamp":"\d+"/g, `"timestamp":"${ts + 1}"`)) as
        { entry: { changes: { value: { contacts: Record<string, unknown>[] } }[] }[] };
      doc.entry[0]!.changes[0]!.value.contacts = [{ wa_id: '15559990072' }];
      return [named, JSON.stringify(doc)];
    };
    assert.deepEqual(await ingestReceived(t.ctx, fast!.id, await inbox(fast!, pair(fast!.line))), [], 'customer messages only: all on the fast path');
    const generalRows = await inbox(general!, pair(general!.line));
    assert.equal(await processInboxRows(t.ctx, general!.id, generalRows.map((i) => i.id)), 2);
    for (const ten of [fast!, general!]) {
      const yan = (await snapshot(ten.id)).contacts.find((c) => c.address === '+15559990072');
      assert.equal(yan?.profile_name, 'Yan', ten === fast ? 'fast path' : 'general path');
    }
  });

  it('leaves rows with other events to the general path, and skips rows another transaction holds', async () => {
    const [ten] = tenants;
    const status = cloudPayload([], [{ phoneNumberId: ten!.line, id: 'wamid.out1', status: 'delivered' }]);
    const [statusRow, held, free] = await inbox(ten!, [status, cloudPayload([{ phoneNumberId: ten!.line, from: '15559990003', id: 'wamid.h1' }]), cloudPayload([{ phoneNumberId: ten!.line, from: '15559990004', id: 'wamid.h2' }])]);
    const c = new pg.Client({ connectionString: t.testDb.ownerUrl });
    await c.connect();
    try {
      await c.query('begin');
      await c.query('select 1 from inbox where id = $1 for update', [held!.id]);
      const left = await ingestReceived(t.ctx, ten!.id, [statusRow!, held!, free!]);
      assert.deepEqual(left.map((r) => r.id), [statusRow!.id], 'the status row is handed back');
      const ids = (await owner(t).selectFrom('messages').select('provider_message_id').where('tenant_id', '=', ten!.id).execute()).map((m) => m.provider_message_id);
      assert.ok(ids.includes('wamid.h2'), 'the free row was processed');
      assert.ok(!ids.includes('wamid.h1'), 'the held row was not: its holder decides');
      await c.query('rollback');
    } finally {
      await c.end();
    }
    const pending = (await owner(t).selectFrom('inbox').select('id').where('tenant_id', '=', ten!.id).execute()).map((r) => r.id).sort();
    assert.deepEqual(pending, [statusRow!.id, held!.id].sort());
  });

  it('files messages under the contact and conversation another transaction created meanwhile', async () => {
    // Another processor creates a contact (sender A) and a contact with its conversation (sender B)
    // and commits only after this call has looked them up (not there yet) and tried to insert its
    // own: those inserts wait for it, then conflict, and the call must use the other's rows.
    const [, ten] = tenants;
    const [a, b] = ['+15559990011', '+15559990012'];
    const theirs = { a: newId('ctc'), b: newId('ctc'), conv: newId('cnv') };
    const c = new pg.Client({ connectionString: t.testDb.ownerUrl });
    await c.connect();
    try {
      await c.query('begin');
      await c.query(`insert into contacts (tenant_id, id, channel_id, address, is_group) values ($1, $2, $4, $5, false), ($1, $3, $4, $6, false)`, [ten!.id, theirs.a, theirs.b, ten!.channelId, a, b]);
      await c.query(`insert into conversations (tenant_id, id, channel_id, contact_id) values ($1, $2, $3, $4)`, [ten!.id, theirs.conv, ten!.channelId, theirs.b]);
      const rows = await inbox(ten!, [cloudPayload([
        { phoneNumberId: ten!.line, from: a.slice(1), id: 'wamid.r1', name: 'A' },
        { phoneNumberId: ten!.line, from: b.slice(1), id: 'wamid.r2', name: 'B' },
        { phoneNumberId: ten!.line, from: a.slice(1), id: 'wamid.r3', name: 'A' },
      ])]);
      const call = ingestReceived(t.ctx, ten!.id, rows);
      // (Inside a transaction pg_stat_activity keeps its first reading unless told to read again.)
      await until('the call waits on the other transaction', async () => {
        await c.query('select pg_stat_clear_snapshot()');
        return (await c.query(`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%sb_ingest_received%'`)).rowCount === 1;
      });
      await c.query('commit');
      assert.deepEqual(await call, []);
    } finally {
      await c.end();
    }
    const o = owner(t);
    const contacts = await o.selectFrom('contacts').select(['id', 'address']).where('tenant_id', '=', ten!.id).where('address', 'in', [a, b]).orderBy('address').execute();
    assert.deepEqual(contacts, [{ id: theirs.a, address: a }, { id: theirs.b, address: b }], 'no second contact');
    const convs = await o.selectFrom('conversations').select(['id', 'contact_id', 'unread_count']).where('tenant_id', '=', ten!.id).where('contact_id', 'in', [theirs.a, theirs.b]).orderBy('contact_id').execute();
    assert.equal(convs.length, 2, 'one conversation each');
    const convOf = Object.fromEntries(convs.map((v) => [v.contact_id, v]));
    assert.equal(convOf[theirs.b]!.id, theirs.conv, "B's is the other transaction's");
    assert.equal(convOf[theirs.b]!.unread_count, 1, "B's message counted in it");
    assert.equal(convOf[theirs.a]!.unread_count, 2);
    const msgs = await o.selectFrom('messages').select(['provider_message_id', 'conversation_id']).where('tenant_id', '=', ten!.id).where('provider_message_id', 'in', ['wamid.r1', 'wamid.r2', 'wamid.r3']).orderBy('provider_message_id').execute();
    assert.deepEqual(msgs.map((m) => m.conversation_id), [convOf[theirs.a]!.id, theirs.conv, convOf[theirs.a]!.id]);
    const events = await o.selectFrom('events').select('data').where('tenant_id', '=', ten!.id).execute();
    for (const [pm, contact] of [['wamid.r1', theirs.a], ['wamid.r2', theirs.b]] as const) {
      const d = events.map((e) => e.data as Record<string, unknown>).find((x) => JSON.stringify(x).includes(pm));
      assert.ok(d, `${pm} has its event`);
      assert.equal(d.contact_id, contact, `${pm}'s event names the other transaction's contact`);
    }
  });
});
