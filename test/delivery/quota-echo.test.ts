/**
 * The daily quota is on what Switchboard sends. Messages typed on the line's phone are stored as
 * outbound rows too (UltraMsg message_create fromMe); a new day's counter was seeded from every
 * outbound row, so they counted only when they came before the day's first API send (review of
 * 2026-12-01). Decision 013, amended; migration 048.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { closeApp, drainAll, makeChannel } from '../inbound/support.js';

describe('quota and messages typed on the phone', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => closeApp(t));

  async function line(instance: string) {
    const tenant = await t.tenant();
    const ch = await makeChannel(t, tenant.id, 'ultramsg', { instanceId: instance, token: 'tok' });
    const lim = await t.app.inject({ method: 'PATCH', url: `/admin/tenants/${tenant.id}`, headers: bearer(t.adminKey), payload: { limits_override: { messages_per_day: 3 } } });
    assert.equal(lim.statusCode, 200, lim.body);
    return { tenant, ch, instance };
  }
  async function typedOnPhone(l: Awaited<ReturnType<typeof line>>, n: number) {
    for (let i = 0; i < n; i++) {
      const r = await t.app.inject({
        method: 'POST', url: `/webhooks/ultramsg/${l.ch.token}`, headers: { 'content-type': 'application/json' },
        payload: { event_type: 'message_create', instanceId: l.instance.replace('instance', ''), id: '', referenceId: '', data: {
          id: `true_1415555010${i}@c.us_PHONE${l.instance}${i}`, from: '15550004001@c.us', to: `1415555010${i}@c.us`, author: '', pushname: '', ack: '',
          type: 'chat', body: `typed on the phone ${i}`, media: '', fromMe: true, isForwarded: false, isMentioned: false, quotedMsg: {}, mentionedIds: [], time: Math.floor(Date.now() / 1000) } },
      });
      assert.equal(r.statusCode, 200, r.body);
    }
    await drainAll(t);
  }
  const sendApi = async (l: Awaited<ReturnType<typeof line>>) =>
    (await t.app.inject({ method: 'POST', url: '/v1/messages', headers: bearer(l.tenant.key), payload: { channel_id: l.ch.id, to: '+14155559999', content: { type: 'text', text: 'via API' } } })).statusCode;

  it('phone-typed messages never count, whether they come before or after the day\'s first API send', async () => {
    const a = await line('instance4001');
    await typedOnPhone(a, 3);
    const out = await t.app.inject({ url: '/v1/messages?direction=out', headers: bearer(a.tenant.key) });
    assert.equal(out.json().data.length, 3, 'stored as outbound messages');
    assert.deepEqual([await sendApi(a), await sendApi(a), await sendApi(a), await sendApi(a)], [202, 202, 202, 429]);

    const b = await line('instance4002');
    const codes = [await sendApi(b)];
    await typedOnPhone(b, 3);
    codes.push(await sendApi(b), await sendApi(b), await sendApi(b));
    assert.deepEqual(codes, [202, 202, 202, 429]);
  });
});
