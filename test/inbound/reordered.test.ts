/**
 * Inbound events as providers really send them (reviews of 2026-12-01). Webhooks reorder (Meta says
 * so; retries, two processes or two inbox batches do it too): a receipt processed before the echo of a message sent from the phone, and a revoke or
 * edit processed before its message, were spent on nothing — the message stayed `sent`, kept its
 * original text, was never marked revoked. They are parked now and applied when the message is
 * stored (decision 058). Whether a message is a group message was decided by `from` differing from the
 * chat: echoes were filed with the line as `sender`, an authorless group message renamed its group.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  closeApp,
  cloudCreds,
  cloudPayload,
  drainAll,
  makeChannel,
  owner,
  postCloud,
  postWaha,
} from './support.js';
import { asTenantId, withTenant } from '../../src/db/db.js';
import { applyEvent } from '../../src/inbound/apply.js';
import { applyReceivedBatch } from '../../src/inbound/apply-batch.js';
import { pruneOnce } from '../../src/ops/prune.js';

const HMAC_KEY = 'waha-hmac-key-0123456789';
const LINE = '555000111';

describe('inbound events out of order, from the phone, from groups', () => {
  let t: TestApp;
  let a: { id: string; key: string };
  let waha: { id: string; token: string };
  before(async () => {
    t = await startTestApp();
    a = await t.tenant();
    waha = await makeChannel(t, a.id, 'waha', {
      baseUrl: 'http://127.0.0.1:3000',
      apiKey: 'k',
      sessionName: 'default',
      webhookHmacKey: HMAC_KEY,
    });
    await makeChannel(t, a.id, 'cloud-api', cloudCreds(LINE));
  });
  after(() => closeApp(t));

  const wahaPost = async (event: string, payload: unknown) => {
    const r = await postWaha(t, waha.token, HMAC_KEY, {
      id: `evt_${Math.random().toString(36).slice(2)}`,
      timestamp: Date.now(),
      event,
      session: 'default',
      engine: 'WEBJS',
      me: { id: '31612879047@c.us' },
      payload,
    });
    assert.equal(r.statusCode, 200, r.body);
    await drainAll(t);
  };
  const message = (providerMessageId: string) =>
    owner(t)
      .selectFrom('messages')
      .select(['id', 'status', 'direction', 'read_at', 'content', 'metadata', 'sender', 'peer'])
      .where('tenant_id', '=', a.id)
      .where('provider_message_id', '=', providerMessageId)
      .executeTakeFirstOrThrow();
  const events = async (type: string) =>
    (
      await owner(t)
        .selectFrom('events')
        .select(['data'])
        .where('tenant_id', '=', a.id)
        .where('type', '=', type)
        .orderBy('id')
        .execute()
    ).map((e) => e.data as Record<string, unknown>);
  const contact = (address: string) =>
    owner(t)
      .selectFrom('contacts')
      .select(['profile_name', 'is_group'])
      .where('tenant_id', '=', a.id)
      .where('address', '=', address)
      .executeTakeFirstOrThrow();
  /** A Cloud API coexistence echo: a message the business typed in the WhatsApp Business app, to +15559990071. */
  const smbEcho = (id: string, ts: number, body: string) =>
    JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'WABA1',
          changes: [
            {
              field: 'smb_message_echoes',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550001111', phone_number_id: LINE },
                message_echoes: [
                  {
                    from: '15550001111',
                    to: '15559990071',
                    id,
                    timestamp: String(ts),
                    type: 'text',
                    text: { body },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
  const parked = async () => ({
    statuses: (
      await owner(t)
        .selectFrom('early_statuses')
        .select('provider_message_id')
        .where('tenant_id', '=', a.id)
        .execute()
    ).length,
    changes: Number(
      (
        await t.asOwner((o) =>
          o.query('select count(*)::int as n from early_message_changes where tenant_id = $1', [a.id]),
        )
      ).rows[0].n,
    ),
  });

  it('Cloud API: a read receipt before the echo of a message typed in the WhatsApp Business app', async () => {
    const ts = Math.floor(Date.now() / 1000);
    assert.equal(
      (
        await postCloud(
          t,
          cloudPayload(
            [],
            [
              {
                phoneNumberId: LINE,
                id: 'wamid.phone1',
                status: 'read',
                recipient: '15559990071',
                ts: ts + 5,
              },
            ],
          ),
        )
      ).statusCode,
      200,
    );
    await drainAll(t);
    assert.equal((await parked()).statuses, 1);
    const echo = smbEcho('wamid.phone1', ts, 'typed on the phone');
    assert.equal((await postCloud(t, echo)).statusCode, 200);
    await drainAll(t);
    const m = await message('wamid.phone1');
    assert.equal(m.direction, 'out');
    assert.equal(m.status, 'read', 'the receipt reached the message');
    assert.ok(m.read_at);
    assert.equal((await parked()).statuses, 0);
    const applied = (await events('message.status')).filter(
      (e) => e.provider_message_id === 'wamid.phone1' && e.applied === true,
    );
    assert.equal(applied.length, 1, 'one message.status naming the message once it is known');
    assert.equal(applied[0]!.message_id, m.id);
  });

  it('WAHA: an ack before the message.any of a message sent from the phone', async () => {
    const id = 'true_31687654321@c.us_3EB0PHONE1';
    await wahaPost('message.ack', {
      id,
      from: '31687654321@c.us',
      to: '31687654321@c.us',
      participant: null,
      fromMe: true,
      ack: 3,
      ackName: 'READ',
    });
    await wahaPost('message.any', {
      id,
      timestamp: Math.floor(Date.now() / 1000),
      from: '31612879047@c.us',
      to: '31687654321@c.us',
      fromMe: true,
      source: 'app',
      body: 'typed on phone',
      hasMedia: false,
      ack: 1,
    });
    assert.equal((await message(id)).status, 'read');
  });

  it('WAHA: a revoke before its message marks the message when it comes; the revoke redelivered changes nothing', async () => {
    const id = 'false_31687654329@c.us_3EB0REV1';
    const revoke = {
      before: null,
      after: { id: 'false_31687654329@c.us_3EB0REVACT', timestamp: 1700000100, from: '31687654329@c.us' },
      revokedMessageId: '3EB0REV1',
    };
    await wahaPost('message.revoked', revoke);
    assert.equal((await parked()).changes, 1);
    await wahaPost('message', {
      id,
      timestamp: 1700000000,
      from: '31687654329@c.us',
      fromMe: false,
      body: 'oops',
      hasMedia: false,
    });
    assert.equal((await message(id)).metadata.revoked, true);
    assert.equal((await parked()).changes, 0);
    await wahaPost('message.revoked', revoke);
    assert.equal((await events('message.revoked')).length, 1, 'the redelivery is a duplicate');
  });

  it('WAHA: an edit before its message: the message is stored with the edited text; of two edits the later wins', async () => {
    const id = 'false_31687654322@c.us_3EB0EDIT1';
    const now = Math.floor(Date.now() / 1000);
    const edit = (n: number, body: string) => ({
      id: `false_31687654322@c.us_3EB0EDITACTION${n}`,
      timestamp: now + n,
      from: '31687654322@c.us',
      fromMe: false,
      body,
      editedMessageId: '3EB0EDIT1',
    });
    await wahaPost('message.edited', edit(2, 'second edit'));
    await wahaPost('message.edited', edit(1, 'first edit'));
    await wahaPost('message', {
      id,
      timestamp: now - 10,
      from: '31687654322@c.us',
      fromMe: false,
      body: 'original',
      hasMedia: false,
      _data: { notifyName: 'Ed' },
    });
    const m = await message(id);
    assert.equal((m.content as { text: string }).text, 'second edit');
    assert.equal(m.metadata.edited, true);
    assert.equal((await parked()).changes, 0);
  });

  /**
   * Two processes at once, neither seeing the other: `event` (a revoke, a receipt) is applied and held
   * uncommitted — it finds no message, so it parks — while the message it is about is stored and committed.
   */
  const overlapping = async (event: Parameters<typeof applyEvent>[2], m: { pmid: string; chat: string; from: string; fromMe: boolean; text: string }) => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let parkedNow!: () => void;
    const isParked = new Promise<void>((r) => (parkedNow = r));
    const first = withTenant(t.ctx.db, asTenantId(a.id), async (tx) => {
      await applyEvent(tx, { tenantId: a.id, channelId: waha.id }, event);
      parkedNow();
      await hold;
    });
    await isParked;
    await withTenant(t.ctx.db, asTenantId(a.id), (tx) =>
      applyReceivedBatch(tx, a.id, [
        {
          channelId: waha.id,
          ev: {
            kind: 'message.received', externalId: 'default', dedupeKey: `message:${m.pmid}`, timestamp: new Date(), providerMessageId: m.pmid,
            chat: m.chat, from: m.from, fromMe: m.fromMe, content: { type: 'text', text: m.text },
          },
        },
      ]),
    );
    release();
    await first;
  };

  it('a revoke parked while its message is being stored by another transaction is applied by the next retention sweep', async () => {
    const pmid = 'false_31687654339@c.us_RACE1';
    await overlapping(
      { kind: 'message.revoked', externalId: 'default', dedupeKey: 'revoke:RACE1', timestamp: new Date(), providerMessageId: pmid },
      { pmid, chat: '+31687654339', from: '+31687654339', fromMe: false, text: 'oops' },
    );
    assert.equal((await message(pmid)).metadata.revoked, undefined, 'the race: neither side saw the other');
    assert.equal((await parked()).changes, 1);
    await pruneOnce(t.ctx);
    assert.equal((await message(pmid)).metadata.revoked, true);
    assert.equal((await parked()).changes, 0);
  });

  it('a receipt parked while the echo of its message is being stored by another transaction is applied by the next retention sweep', async () => {
    const pmid = 'true_31687654340@c.us_RACE2';
    await overlapping(
      { kind: 'message.status', externalId: 'default', dedupeKey: 'ack:RACE2:read', timestamp: new Date(), providerMessageId: pmid, status: 'read' },
      { pmid, chat: '+31687654340', from: '+31612879047', fromMe: true, text: 'typed on the phone' },
    );
    assert.equal((await message(pmid)).status, 'sent', 'the race: neither side saw the other');
    assert.equal((await parked()).statuses, 1);
    await pruneOnce(t.ctx);
    const m = await message(pmid);
    assert.equal(m.status, 'read');
    assert.ok(m.read_at);
    assert.equal((await parked()).statuses, 0);
    const applied = (await events('message.status')).filter((e) => e.provider_message_id === pmid && e.applied === true);
    assert.deepEqual(
      applied.map((e) => [e.message_id, e.status]),
      [[m.id, 'read']],
      'one message.status naming the message',
    );
    await pruneOnce(t.ctx);
    assert.equal((await events('message.status')).filter((e) => e.provider_message_id === pmid && e.applied === true).length, 1, 'a second sweep finds nothing');
  });

  it("a sender's phone clock a year ahead does not pin its conversation to the top (the provider's time is kept in metadata)", async () => {
    const now = Math.floor(Date.now() / 1000);
    await wahaPost('message', {
      id: 'false_31687650001@c.us_SKEW1',
      timestamp: now + 365 * 86400,
      from: '31687650001@c.us',
      fromMe: false,
      body: 'skewed',
      hasMedia: false,
    });
    await new Promise((r) => setTimeout(r, 20));
    await wahaPost('message', {
      id: 'false_31687650002@c.us_OK2',
      timestamp: now + 1,
      from: '31687650002@c.us',
      fromMe: false,
      body: 'normal',
      hasMedia: false,
    });
    const r = await t.app.inject({
      url: '/v1/conversations?sort=recent',
      headers: { authorization: `Bearer ${a.key}` },
    });
    const order = (r.json().data as { contact: { address: string }; last_message_at: string }[]).map(
      (c) => c.contact.address,
    );
    assert.ok(order.indexOf('+31687650002') < order.indexOf('+31687650001'), order.join(' '));
    const skewed = (r.json().data as { contact: { address: string }; last_message_at: string }[]).find(
      (c) => c.contact.address === '+31687650001',
    )!;
    assert.ok(new Date(skewed.last_message_at).getTime() <= Date.now(), skewed.last_message_at);
    assert.equal(
      (await message('false_31687650001@c.us_SKEW1')).metadata.provider_timestamp,
      new Date((now + 365 * 86400) * 1000).toISOString(),
    );
  });

  it('an edit of a stored message that is not text is not parked (and changes nothing)', async () => {
    const id = 'false_31687654323@c.us_3EB0LOC1';
    await wahaPost('message', {
      id,
      timestamp: Math.floor(Date.now() / 1000),
      from: '31687654323@c.us',
      fromMe: false,
      body: '',
      type: 'location',
      location: { latitude: 52.1, longitude: 4.3 },
      hasMedia: false,
    });
    const before = await message(id);
    await wahaPost('message.edited', {
      id: 'false_31687654323@c.us_3EB0LOCEDIT',
      timestamp: Math.floor(Date.now() / 1000),
      from: '31687654323@c.us',
      fromMe: false,
      body: 'x',
      editedMessageId: '3EB0LOC1',
    });
    assert.deepEqual(await message(id), before);
    assert.equal((await parked()).changes, 0);
  });

  it('an echo of a message typed in the WhatsApp Business app is a 1:1 message with no sender and leaves the contact name alone', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const echo = smbEcho('wamid.echo-s1', ts, 'from the app');
    assert.equal((await postCloud(t, echo)).statusCode, 200);
    await drainAll(t);
    const m = await message('wamid.echo-s1');
    assert.deepEqual([m.sender, m.direction, m.peer], [null, 'out', '+15559990071']);
    assert.equal((await contact('+15559990071')).is_group, false);
  });

  it('a WAHA group message without its author stays a group message: the group keeps its name', async () => {
    const post = async (payload: unknown) => {
      const r = await postWaha(t, waha.token, HMAC_KEY, {
        event: 'message',
        session: 'default',
        engine: 'WEBJS',
        payload,
      });
      assert.equal(r.statusCode, 200, r.body);
      await drainAll(t);
    };
    const group = '120363404882958348@g.us';
    await post({
      id: `false_${group}_AAA_31611111111@c.us`,
      timestamp: Math.floor(Date.now() / 1000),
      from: group,
      participant: '31611111111@c.us',
      fromMe: false,
      body: 'hi all',
      hasMedia: false,
      _data: { notifyName: 'Alice' },
    });
    await post({
      id: `false_${group}_BBB`,
      timestamp: Math.floor(Date.now() / 1000),
      from: group,
      fromMe: false,
      body: 'no author',
      hasMedia: false,
      _data: { notifyName: 'Bob' },
    });
    const c = await contact(group);
    assert.equal(c.is_group, true);
    assert.equal(c.profile_name, null, 'a sender’s push name never names the group');
    assert.equal((await message(`false_${group}_BBB`)).sender, null);
  });
});
