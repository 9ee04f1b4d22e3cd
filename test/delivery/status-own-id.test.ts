import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asTenantId, withTenant } from '../../src/db/db.js';
import { applyDeliveryStatus } from '../../src/messages/status.js';
import { send, setup, text, type Setup } from './helpers.js';

/** A provider status naming our own `msg_…` id (UltraMsg `referenceId`, decision 045). */
describe('statuses that name our own message id', () => {
  let s: Setup;
  before(async () => {
    s = await setup({ channels: 2 });
  });
  after(() => s.close());
  const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(s.t.ctx.db, asTenantId(s.tenant.id), fn);
  const row = (id: string) => tx((t) => t.selectFrom('messages').select(['status', 'provider_message_id', 'delivered_at']).where('id', '=', id).executeTakeFirstOrThrow());
  const parked = () => tx((t) => t.selectFrom('early_statuses').select('provider_message_id').execute());

  it('match that message on its own channel only, before any send result, without becoming its provider id', async () => {
    const id = (await send(s.t, s.tenant.key, text(s.channels[0]!, '+16505553001'))).json().id as string;
    const other = await tx((t) => applyDeliveryStatus(t, { channelId: s.channels[1]!, providerMessageId: id, status: 'delivered', at: new Date() }));
    assert.equal(other, null, 'another channel does not see it');
    assert.equal((await row(id)).status, 'queued');
    const change = await tx((t) => applyDeliveryStatus(t, { channelId: s.channels[0]!, providerMessageId: id, status: 'delivered', at: new Date() }));
    assert.deepEqual(change, { messageId: id, status: 'delivered', changed: true });
    const r = await row(id);
    assert.equal(r.provider_message_id, null, 'our id is never stored as the provider id');
    assert.ok(r.delivered_at);
    const back = await tx((t) => applyDeliveryStatus(t, { channelId: s.channels[0]!, providerMessageId: id, status: 'sent', at: new Date() }));
    assert.deepEqual(back, { messageId: id, status: 'delivered', changed: false }, 'monotonic');
  });

  it('an own id that matches nothing is not parked (it never will match)', async () => {
    const r = await tx((t) => applyDeliveryStatus(t, { channelId: s.channels[0]!, providerMessageId: 'msg_01NOSUCHMESSAGE0000000000', status: 'read', at: new Date() }));
    assert.equal(r, null);
    assert.deepEqual(await parked(), []);
    // a provider's own id still is parked, as before
    await tx((t) => applyDeliveryStatus(t, { channelId: s.channels[0]!, providerMessageId: 'wamid.not-yet', status: 'read', at: new Date() }));
    assert.deepEqual(await parked(), [{ provider_message_id: 'wamid.not-yet' }]);
  });
});
