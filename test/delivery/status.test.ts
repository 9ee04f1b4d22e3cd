import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asTenantId, withTenant } from '../../src/db/db.js';
import { applyDeliveryStatus, applyParkedStatuses, updateOutboundStatus } from '../../src/messages/status.js';
import { upsertConversation, upsertConversations } from '../../src/messages/conversations.js';
import { bearer } from '../support/app.js';
import { send, setup, text, type Setup } from './helpers.js';

describe('outbound status is monotonic; conversations upsert once', () => {
  let s: Setup;
  before(async () => {
    s = await setup({ channels: 1 });
  });
  after(() => s.close());
  const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(s.t.ctx.db, asTenantId(s.tenant.id), fn);
  const get = async (id: string) => (await s.t.app.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: bearer(s.tenant.key) })).json();

  it('never goes backwards whatever order updates arrive in, and logs each real change once', async () => {
    const orders: string[][] = [['sent', 'delivered', 'read'], ['read', 'delivered', 'sent'], ['delivered', 'read', 'failed', 'sent'], ['failed', 'delivered']];
    for (const order of orders) {
      const id = (await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505551000'))).json().id;
      const wamid = `wamid.${id}`;
      await tx((t) => updateOutboundStatus(t, { messageId: id }, { status: 'sent', at: new Date(), providerMessageId: wamid }));
      for (const st of order) {
        await tx((t) => applyDeliveryStatus(t, { channelId: s.channels[0]!, providerMessageId: wamid, status: st as 'sent', at: new Date(), ...(st === 'failed' ? { error: { code: '131026', detail: 'undeliverable' } } : {}) }));
      }
      const m = await get(id);
      const expected = order.includes('read') ? 'read' : 'delivered';
      assert.equal(m.status, expected, `order ${order.join('→')}`);
      assert.ok(m.delivered_at && m.sent_at, 'lower timestamps filled in');
      const log = await tx((t) => t.selectFrom('message_status_log').select('status').where('message_id', '=', id).orderBy('id').execute());
      const ranks = log.map((l) => ['sent', 'failed', 'delivered', 'read'].indexOf(l.status));
      assert.deepEqual([...ranks].sort((a, b) => a - b), ranks, 'log only moves up');
    }
  });

  it('a status that beats the send result is parked and applied when the provider id is recorded', async () => {
    const id = (await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505551001'))).json().id;
    const r = await tx((t) => applyDeliveryStatus(t, { channelId: s.channels[0]!, providerMessageId: 'wamid.early', status: 'delivered', at: new Date() }));
    assert.equal(r, null);
    await tx(async (t) => {
      await updateOutboundStatus(t, { messageId: id }, { status: 'sent', at: new Date(), providerMessageId: 'wamid.early' });
      await applyParkedStatuses(t, s.tenant.id, [{ channelId: s.channels[0]!, providerMessageId: 'wamid.early' }]);
    });
    assert.equal((await get(id)).status, 'delivered');
    const left = await tx((t) => t.selectFrom('early_statuses').selectAll().execute());
    assert.equal(left.length, 0);
  });

  it('upsertConversation: concurrent callers get one contact and one conversation; names update', async () => {
    const refs = await Promise.all(Array.from({ length: 10 }, (_, i) => tx((t) => upsertConversation(t, { tenantId: s.tenant.id, channelId: s.channels[0]!, address: '+16505552000', ...(i === 9 ? { profileName: 'Ada' } : {}) }))));
    assert.equal(new Set(refs.map((r) => r.conversationId)).size, 1);
    assert.equal(new Set(refs.map((r) => r.contactId)).size, 1);
    const again = (await tx((t) => upsertConversations(t, s.tenant.id, [{ channelId: s.channels[0]!, address: '+16505552000' }, { channelId: s.channels[0]!, address: '+16505552001' }]))).ids;
    assert.equal(again.get(`${s.channels[0]}\n+16505552000`), refs[0]!.conversationId);
    assert.equal(again.size, 2);
    const c = await tx((t) => t.selectFrom('contacts').select('profile_name').where('address', '=', '+16505552000').executeTakeFirstOrThrow());
    assert.equal(c.profile_name, 'Ada');
  });
});
