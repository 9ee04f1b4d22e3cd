import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { closeApp, cloudCreds, cloudPayload, drainAll, makeChannel, postCloud } from './support.js';
import { newId } from '../../src/core/ids.js';

describe('conversations, contacts and stats API', () => {
  let t: TestApp;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let ch: { id: string };
  before(async () => {
    t = await startTestApp();
    a = await t.tenant();
    b = await t.tenant();
    ch = await makeChannel(t, a.id, 'cloud-api', cloudCreds('666000666'));
    await makeChannel(t, b.id, 'cloud-api', cloudCreds('777000777'));
    await postCloud(t, cloudPayload([
      { phoneNumberId: '666000666', from: '15556660001', id: 'wamid.c1', text: 'I need a refund', name: 'Alice Example' },
      { phoneNumberId: '666000666', from: '15556660001', id: 'wamid.c2', text: 'order 42 please' },
      { phoneNumberId: '666000666', from: '15556660002', id: 'wamid.c3', text: 'hello', name: 'Bob Builder' },
    ]));
    await postCloud(t, cloudPayload([{ phoneNumberId: '777000777', from: '15557770001', id: 'wamid.b1', text: 'tenant B only' }]));
    await drainAll(t);
  });
  after(() => closeApp(t));

  const get = (key: string, url: string) => t.app.inject({ method: 'GET', url, headers: bearer(key) });

  it('lists conversations with contact, unread count and last message time; paginates by cursor', async () => {
    const res = await get(a.key, '/v1/conversations?limit=1');
    assert.equal(res.statusCode, 200, res.body);
    const page1 = res.json();
    assert.equal(page1.data.length, 1);
    assert.ok(page1.next_cursor);
    const page2 = (await get(a.key, `/v1/conversations?limit=1&cursor=${page1.next_cursor}`)).json();
    assert.equal(page2.data.length, 1);
    assert.equal(page2.next_cursor, null);
    const all = [...page1.data, ...page2.data];
    const alice = all.find((c: { contact: { address: string } }) => c.contact.address === '+15556660001');
    assert.equal(alice.unread_count, 2);
    assert.equal(alice.contact.profile_name, 'Alice Example');
    assert.ok(alice.last_message_at);
    assert.equal(alice.channel_id, ch.id);
  });

  it('searches by phone, name and message text', async () => {
    const byText = (await get(a.key, '/v1/conversations?q=refund')).json();
    assert.deepEqual(byText.data.map((c: { contact: { address: string } }) => c.contact.address), ['+15556660001']);
    const byName = (await get(a.key, '/v1/conversations?q=bob')).json();
    assert.deepEqual(byName.data.map((c: { contact: { address: string } }) => c.contact.address), ['+15556660002']);
    const byPhone = (await get(a.key, '/v1/contacts?q=6660002')).json();
    assert.equal(byPhone.data.length, 1);
    assert.equal(byPhone.data[0].profile_name, 'Bob Builder');
    const wildcard = (await get(a.key, '/v1/conversations?q=%25')).json();
    assert.equal(wildcard.data.length, 0);
    // A whole number with its + (any spacing) or as a WhatsApp id finds exactly that contact, through
    // the address index; bare digits match part of the address (here the same contact).
    for (const q of ['%2B15556660002', '15556660002', '%2B1%20555%20666%200002', '15556660002%40c.us']) {
      const exact = (await get(a.key, `/v1/contacts?q=${q}`)).json();
      assert.deepEqual(exact.data.map((c: { address: string }) => c.address), ['+15556660002'], q);
      const conv = (await get(a.key, `/v1/conversations?q=${q}`)).json();
      assert.deepEqual(conv.data.map((c: { contact: { address: string } }) => c.contact.address), ['+15556660002'], q);
    }
    assert.equal((await get(a.key, '/v1/contacts?q=%2B15556669999')).json().data.length, 0);
    // Bare digits that would parse as another country's number (here Brazil's +55) still find the
    // contact whose number holds them, and a number quoted in a message is found as text.
    assert.deepEqual((await get(a.key, '/v1/contacts?q=5556660001')).json().data.map((c: { address: string }) => c.address), ['+15556660001']);
    assert.deepEqual((await get(a.key, '/v1/conversations?q=42')).json().data.map((c: { contact: { address: string } }) => c.contact.address), ['+15556660001']);
  });

  it('returns messages of a conversation and updates assign/close/mode/read', async () => {
    const conv = (await get(a.key, '/v1/conversations?q=refund')).json().data[0];
    const msgs = (await get(a.key, `/v1/conversations/${conv.id}/messages`)).json();
    assert.deepEqual(msgs.data.map((m: { provider_message_id: string }) => m.provider_message_id).sort(), ['wamid.c1', 'wamid.c2']);
    assert.ok(msgs.data.every((m: { direction: string; peer: string }) => m.direction === 'in' && m.peer === '+15556660001'));
    const patched = await t.app.inject({ method: 'PATCH', url: `/v1/conversations/${conv.id}`, headers: bearer(a.key), payload: { status: 'closed', mode: 'human', mark_read: true } });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().status, 'closed');
    assert.equal(patched.json().mode, 'human');
    assert.equal(patched.json().unread_count, 0);
    const unknownUser = await t.app.inject({ method: 'PATCH', url: `/v1/conversations/${conv.id}`, headers: bearer(a.key), payload: { assignee_id: 'usr_01J0000000000000000000000A' } });
    assert.equal(unknownUser.statusCode, 404);
    const closed = (await get(a.key, '/v1/conversations?status=closed')).json();
    assert.equal(closed.data.length, 1);
  });

  it('another tenant gets 404 for every conversation route and sees none of it in lists', async () => {
    const conv = (await get(a.key, '/v1/conversations?q=refund')).json().data[0];
    assert.equal((await get(b.key, `/v1/conversations/${conv.id}`)).statusCode, 404);
    assert.equal((await get(b.key, `/v1/conversations/${conv.id}/messages`)).statusCode, 404);
    const patch = await t.app.inject({ method: 'PATCH', url: `/v1/conversations/${conv.id}`, headers: bearer(b.key), payload: { status: 'open' } });
    assert.equal(patch.statusCode, 404);
    const list = (await get(b.key, '/v1/conversations')).json();
    assert.deepEqual(list.data.map((c: { contact: { address: string } }) => c.contact.address), ['+15557770001']);
    assert.equal((await get(b.key, '/v1/contacts?q=15556660001')).json().data.length, 0);
  });

  it('stats: totals, messages today in/out, active conversations, per channel', async () => {
    const s = (await get(a.key, '/v1/stats')).json();
    assert.deepEqual(s.totals, { contacts: 2, conversations: 2, messages: 3 });
    assert.deepEqual(s.today, { messages_in: 3, messages_out: 0 });
    assert.equal(s.active_conversations, 1); // one was closed above
    assert.deepEqual(s.channels, [{ channel_id: ch.id, messages_in_today: 3, messages_out_today: 0, open_conversations: 1 }]);
    const sb = (await get(b.key, '/v1/stats')).json();
    assert.equal(sb.totals.messages, 1);
  });

  it('stats per line: today in and out by line, yesterday left out, a quiet line at zero, open conversations by line', async () => {
    const c = await t.tenant();
    const [l1, l2, quiet] = [await makeChannel(t, c.id, 'cloud-api', cloudCreds('999000001')), await makeChannel(t, c.id, 'cloud-api', cloudCreds('999000002')), await makeChannel(t, c.id, 'cloud-api', cloudCreds('999000003'))];
    await postCloud(t, cloudPayload([
      { phoneNumberId: '999000001', from: '15559900001', id: 'wamid.s1' },
      { phoneNumberId: '999000001', from: '15559900002', id: 'wamid.s2' },
      { phoneNumberId: '999000002', from: '15559900003', id: 'wamid.s3' },
    ]));
    // Another tenant's line with a message today: never counted in this tenant's stats.
    const other = await t.tenant();
    await makeChannel(t, other.id, 'cloud-api', cloudCreds('999000004'));
    await postCloud(t, cloudPayload([{ phoneNumberId: '999000004', from: '15559900004', id: 'wamid.s4' }]));
    await drainAll(t);
    // Our own messages (out) on both lines, and one of line 1's inbound messages moved to yesterday.
    await t.asOwner(async (o) => {
      const conv = async (channelId: string) => (await o.query('select id, contact_id from conversations where tenant_id = $1 and channel_id = $2 limit 1', [c.id, channelId])).rows[0];
      for (const [ch, n] of [[l1!.id, 2], [l2!.id, 1]] as const) {
        const v = await conv(ch);
        for (let i = 0; i < n; i++) {
          await o.query(`insert into messages (tenant_id, id, channel_id, conversation_id, direction, status, type, content, peer) values ($1, $2, $3, $4, 'out', 'sent', 'text', '{"type":"text","text":"hi"}', '+15559900009')`, [c.id, newId('msg'), ch, v.id]);
        }
      }
      await o.query(`update messages set created_at = now() - interval '1 day' where tenant_id = $1 and provider_message_id = 'wamid.s2'`, [c.id]);
      await o.query(`update conversations set status = 'closed' where tenant_id = $1 and channel_id = $2`, [c.id, l2!.id]);
    });
    const s = (await get(c.key, '/v1/stats')).json();
    assert.deepEqual(s.totals, { contacts: 3, conversations: 3, messages: 6 });
    assert.deepEqual(s.today, { messages_in: 2, messages_out: 3 });
    assert.deepEqual(s.channels, [
      { channel_id: l1!.id, messages_in_today: 1, messages_out_today: 2, open_conversations: 2 },
      { channel_id: l2!.id, messages_in_today: 1, messages_out_today: 1, open_conversations: 0 },
      { channel_id: quiet!.id, messages_in_today: 0, messages_out_today: 0, open_conversations: 0 },
    ].sort((x, y) => (x.channel_id < y.channel_id ? -1 : 1)));
    const theirs = (await get(other.key, '/v1/stats')).json();
    assert.deepEqual(theirs.today, { messages_in: 1, messages_out: 0 }, 'the other tenant sees its own message only');
    assert.equal(theirs.channels.length, 1);
  });

  it('bad input is a 400, never a 500: NUL characters, impossible dates in a cursor, cursors of another list', async () => {
    const conv = (await get(a.key, '/v1/conversations?limit=1')).json().data[0].id;
    const time = (at: string, id: string) => Buffer.from(`${at}|${id}`, 'utf8').toString('base64url');
    const contactCursor = (await get(a.key, '/v1/contacts?limit=1')).json().next_cursor;
    assert.ok(contactCursor);
    for (const url of [
      '/v1/conversations?q=%00', '/v1/contacts?q=a%00', '/v1/conversations?assignee_id=%00', `/v1/conversations/${conv}/messages?q=%00`,
      `/v1/conversations?sort=recent&cursor=${time('2024-02-30T00:00:00.000000Z', conv)}`,
      `/v1/conversations?sort=recent&cursor=${time('2024-04-31T12:00:00.000000Z', conv)}`,
      `/v1/conversations?cursor=${contactCursor}`,
      `/v1/conversations?cursor=${Buffer.from('zzz_01J00000000000000000000000').toString('base64url')}`,
    ]) {
      const r = await get(a.key, url);
      assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
      assert.equal(r.json().code, 'validation_failed', url);
    }
    // A real leap day still pages.
    assert.equal((await get(a.key, `/v1/conversations?sort=recent&cursor=${time('2024-02-29T00:00:00.000000Z', conv)}`)).statusCode, 200);
  });

  it('requires a credential', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/conversations' })).statusCode, 401);
  });

  it('sort=recent lists the conversation with the latest message first and pages through every one once', async () => {
    const c = await t.tenant();
    await makeChannel(t, c.id, 'cloud-api', cloudCreds('888000888'));
    const now = Math.floor(Date.now() / 1000);
    const say = async (from: string, id: string, ts: number) => {
      await postCloud(t, cloudPayload([{ phoneNumberId: '888000888', from, id, text: 'hi', ts }]));
      await drainAll(t);
    };
    await say('15558880001', 'wamid.r1', now - 300); // first conversation
    await say('15558880002', 'wamid.r2', now - 200);
    await say('15558880003', 'wamid.r3', now - 200); // newest conversation, its message in the same second as the one before
    await say('15558880001', 'wamid.r4', now); // the first one speaks again
    const addresses = (page: { data: { contact: { address: string } }[] }) => page.data.map((x) => x.contact.address);
    assert.deepEqual(addresses((await get(c.key, '/v1/conversations')).json()), ['+15558880003', '+15558880002', '+15558880001'], 'default: newest conversation first');
    // Same time: the newer conversation first (ties go by id), so every page boundary is well defined.
    const recent = ['+15558880001', '+15558880003', '+15558880002'];
    assert.deepEqual(addresses((await get(c.key, '/v1/conversations?sort=recent')).json()), recent);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(c.key, `/v1/conversations?sort=recent&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.statusCode, 200, res.body);
      seen.push(...addresses(res.json()));
      cursor = res.json().next_cursor;
    } while (cursor && seen.length <= 3);
    assert.deepEqual(seen, recent, 'one page each, in order, none twice');

    // Activity within one millisecond (an outbound send's now(), a conversation with no message yet):
    // the cursor keeps PostgreSQL's microseconds, so a page boundary between the two skips neither.
    const chId = (await get(c.key, '/v1/conversations')).json().data[0].channel_id as string;
    await t.asOwner(async (owner) => {
      for (const [n, us] of [[4, '000100'], [5, '000200']] as const) {
        await owner.query(`insert into contacts (tenant_id, id, channel_id, address) values ($1, $2, $3, $4)`, [c.id, `ctc_01JRECENT0000000000000000${n}`, chId, `+1555888000${n}`]);
        await owner.query(`insert into conversations (tenant_id, id, channel_id, contact_id, last_message_at) values ($1, $2, $3, $4, $5)`,
          [c.id, `cnv_01JRECENT0000000000000000${n}`, chId, `ctc_01JRECENT0000000000000000${n}`, `2100-01-01T00:00:00.${us}Z`]);
      }
    });
    const pages: string[] = [];
    for (let cur: string | null = null, i = 0; i === 0 || (cur && i < 6); i++) {
      const res = await get(c.key, `/v1/conversations?sort=recent&limit=1${cur ? `&cursor=${cur}` : ''}`);
      pages.push(...addresses(res.json()));
      cur = res.json().next_cursor;
    }
    assert.deepEqual(pages, ['+15558880005', '+15558880004', ...recent]);

    // Filters apply as in the default order; a cursor belongs to the order that made it.
    assert.deepEqual(addresses((await get(c.key, '/v1/conversations?sort=recent&q=15558880002')).json()), ['+15558880002']);
    const createdCursor = (await get(c.key, '/v1/conversations?limit=1')).json().next_cursor;
    const mixed = await get(c.key, `/v1/conversations?sort=recent&cursor=${createdCursor}`);
    assert.equal(mixed.statusCode, 400);
    assert.equal(mixed.json().code, 'validation_failed');
    assert.equal((await get(c.key, '/v1/conversations?sort=oldest')).statusCode, 400);
    // Another tenant's inbox, in this order too, holds only its own.
    assert.deepEqual(addresses((await get(b.key, '/v1/conversations?sort=recent')).json()), ['+15557770001']);
  });
  const patch = (key: string, id: string, payload: unknown) => t.app.inject({ method: 'PATCH', url: `/v1/conversations/${id}`, headers: bearer(key), payload: payload as object });
  const eventsOf = async (key: string, conversationId: string) =>
    (await get(key, '/v1/events?type=conversation.updated&limit=100')).json().data.filter((e: { data: { conversation: { id: string } } }) => e.data.conversation.id === conversationId);
  const addMember = async (key: string, role: string) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(key), payload: { email: `${role}-${newId('usr').slice(-8).toLowerCase()}@example.test`, role, password: 'correct horse battery' } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().user_id as string;
  };

  it('a JSON body is not coerced: "true" is not a boolean, 1 is not a status (query strings still are)', async () => {
    const conv = (await get(a.key, '/v1/conversations?q=bob')).json().data[0];
    for (const body of [{ mark_read: 'true' }, { status: 1 }, { assignee_id: 0 }, { mode: ['human'] }]) {
      const res = await patch(a.key, conv.id, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(res.json().code, 'validation_failed');
    }
    assert.equal((await get(a.key, `/v1/conversations/${conv.id}`)).json().mode, 'bot');
    assert.equal((await get(a.key, '/v1/conversations?limit=1')).json().data.length, 1);
  });

  it('a PATCH that changes nothing records nothing; one that does names only what changed', async () => {
    const conv = (await get(a.key, '/v1/conversations?q=bob')).json().data[0];
    const before = await eventsOf(a.key, conv.id);
    const audits = (await get(a.key, '/v1/audit-log?limit=100')).json().data.length;
    for (const body of [{ status: conv.status }, { mode: conv.mode }, { mark_read: false }, { assignee_id: null }, { status: conv.status, mode: conv.mode }]) {
      const res = await patch(a.key, conv.id, body);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().updated_at, conv.updated_at, JSON.stringify(body));
    }
    assert.equal((await eventsOf(a.key, conv.id)).length, before.length);
    assert.equal((await get(a.key, '/v1/audit-log?limit=100')).json().data.length, audits);
    const res = await patch(a.key, conv.id, { status: conv.status, mode: 'human' });
    assert.equal(res.statusCode, 200, res.body);
    const after = await eventsOf(a.key, conv.id);
    assert.equal(after.length, before.length + 1);
    assert.deepEqual(after[0].data.changes, { mode: 'human' });
    assert.equal((await patch(a.key, conv.id, { mode: 'bot' })).statusCode, 200);
  });

  it('assigns only members who can handle conversations; a removed or demoted member hands theirs back; assignee_id=none lists the unassigned', async () => {
    const conv = (await get(a.key, '/v1/conversations?q=bob')).json().data[0];
    const viewer = await addMember(a.key, 'viewer');
    const refused = await patch(a.key, conv.id, { assignee_id: viewer });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.match(refused.json().detail, /viewer/);
    // Another tenant's member is not a member here.
    const otherAgent = await addMember(b.key, 'agent');
    assert.equal((await patch(a.key, conv.id, { assignee_id: otherAgent })).statusCode, 404);

    const agent = await addMember(a.key, 'agent');
    assert.equal((await patch(a.key, conv.id, { assignee_id: agent })).json().assignee_id, agent);
    const ids = (url: string) => get(a.key, url).then((r) => r.json().data.map((c: { id: string }) => c.id));
    assert.deepEqual(await ids(`/v1/conversations?assignee_id=${agent}`), [conv.id]);
    assert.ok(!(await ids('/v1/conversations?assignee_id=none')).includes(conv.id));
    assert.equal((await get(a.key, '/v1/conversations?assignee_id=nobody')).statusCode, 400);

    // Demoted to viewer: unassigned, with an event.
    const events = (await eventsOf(a.key, conv.id)).length;
    assert.equal((await t.app.inject({ method: 'PATCH', url: `/v1/members/${agent}`, headers: bearer(a.key), payload: { role: 'viewer' } })).statusCode, 200);
    assert.equal((await get(a.key, `/v1/conversations/${conv.id}`)).json().assignee_id, null);
    const evs = await eventsOf(a.key, conv.id);
    assert.equal(evs.length, events + 1);
    assert.deepEqual(evs[0].data.changes, { assignee_id: null });
    assert.ok((await ids('/v1/conversations?assignee_id=none')).includes(conv.id));

    // Removed: unassigned too, and the audit entry says how many.
    const agent2 = await addMember(a.key, 'agent');
    assert.equal((await patch(a.key, conv.id, { assignee_id: agent2 })).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/members/${agent2}`, headers: bearer(a.key) })).statusCode, 204);
    assert.equal((await get(a.key, `/v1/conversations/${conv.id}`)).json().assignee_id, null);
    const removed = (await get(a.key, '/v1/audit-log?limit=100')).json().data.find((e: { action: string; target_id: string }) => e.action === 'member.removed' && e.target_id === agent2);
    assert.deepEqual(removed.details, { unassigned_conversations: 1 });
  });
});
