/**
 * PATCH /v1/conversations/{id} against concurrent writers (review of 2026-12-01). The membership an
 * assignment checked was not held: removing the member (or making them a viewer) at the same
 * moment handed back their conversations before the assignment committed, and the removed member
 * held the conversation for good. And the change was worked out from an unlocked read: the same
 * close sent twice at once was two changes, two audit entries, two `conversation.updated` events.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { closeApp, cloudCreds, cloudPayload, drainAll, makeChannel, postCloud } from '../inbound/support.js';

describe('PATCH /v1/conversations/{id} beside concurrent writers', () => {
  let t: TestApp;
  let a: { id: string; key: string };
  before(async () => {
    t = await startTestApp();
    a = await t.tenant();
    await makeChannel(t, a.id, 'cloud-api', cloudCreds('666000666'));
    await postCloud(t, cloudPayload([
      { phoneNumberId: '666000666', from: '15556660001', id: 'wamid.c1', text: 'one' },
      { phoneNumberId: '666000666', from: '15556660002', id: 'wamid.c2', text: 'two' },
      { phoneNumberId: '666000666', from: '15556660003', id: 'wamid.c3', text: 'three' },
    ]));
    await drainAll(t);
  });
  after(() => closeApp(t));

  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: bearer(a.key) });
  const patch = (id: string, payload: object) => t.app.inject({ method: 'PATCH', url: `/v1/conversations/${id}`, headers: bearer(a.key), payload });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const conversationOf = async (number: string) => (await get(`/v1/conversations?q=%2B${number}`)).json().data[0].id as string;
  let n = 0;
  const newAgent = async () => {
    const r = await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(a.key), payload: { email: `agent-${++n}@example.test`, role: 'agent', password: 'correct horse battery' } });
    assert.equal(r.statusCode, 201, r.body);
    return r.json().user_id as string;
  };
  /**
   * Runs `during` while the audit log cannot be written: a PATCH that changes something has then
   * checked and written everything but its audit entry, and waits there, uncommitted.
   */
  const whileAuditHeld = (during: () => Promise<void>) =>
    t.asOwner(async (o) => {
      await o.query('begin');
      await o.query('lock table audit_log in exclusive mode');
      try {
        await during();
      } finally {
        await o.query('commit');
      }
    });

  for (const [what, change] of [
    ['removed', (id: string) => t.app.inject({ method: 'DELETE', url: `/v1/members/${id}`, headers: bearer(a.key) })],
    ['made a viewer', (id: string) => t.app.inject({ method: 'PATCH', url: `/v1/members/${id}`, headers: bearer(a.key), payload: { role: 'viewer' } })],
  ] as const) {
    it(`a member ${what} while being assigned a conversation does not keep it`, async () => {
      const conv = await conversationOf(what === 'removed' ? '15556660001' : '15556660002');
      const agent = await newAgent();
      let assign!: ReturnType<typeof patch>;
      let member!: ReturnType<typeof change>;
      await whileAuditHeld(async () => {
        assign = patch(conv, { assignee_id: agent });
        await sleep(300); // the assignment is written, not committed
        member = change(agent);
        await sleep(300);
      });
      assert.equal((await assign).statusCode, 200, (await assign).body);
      assert.ok([200, 204].includes((await member).statusCode), (await member).body);
      assert.equal((await get(`/v1/conversations/${conv}`)).json().assignee_id, null, 'a removed member or a viewer holds no conversation (decision 049)');
    });
  }

  it('the same change sent twice at once is one change: one audit entry, one event', async () => {
    const conv = await conversationOf('15556660003');
    let p1!: ReturnType<typeof patch>;
    let p2!: ReturnType<typeof patch>;
    await whileAuditHeld(async () => {
      p1 = patch(conv, { status: 'closed' });
      p2 = patch(conv, { status: 'closed' });
      await sleep(300);
    });
    assert.deepEqual([(await p1).statusCode, (await p2).statusCode], [200, 200]);
    const events = (await get('/v1/events?type=conversation.updated&limit=100')).json().data.filter((e: { data: { conversation: { id: string } } }) => e.data.conversation.id === conv);
    const audits = (await get('/v1/audit-log?limit=100')).json().data.filter((e: { action: string; target_id: string }) => e.action === 'conversation.updated' && e.target_id === conv);
    assert.deepEqual(events.map((e: { data: { changes: unknown } }) => e.data.changes), [{ status: 'closed' }]);
    assert.equal(audits.length, 1);
  });
});
