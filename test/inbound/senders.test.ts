/**
 * Whether a message is a group message was decided by `from` differing from the chat (review of
 * 2026-12-01): the line's own messages (echoes) differ without being group messages, so they were
 * filed with the line as `sender`; a group message without its author renamed the group after the
 * author. The chat's address decides now.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.js';
import { closeApp, cloudCreds, drainAll, makeChannel, owner, postCloud, postWaha } from './support.js';

const HMAC_KEY = 'waha-hmac-key-0123456789';
const LINE = '555000222';

describe('who wrote a message', () => {
  let t: TestApp;
  let a: { id: string; key: string };
  let waha: { id: string; token: string };
  before(async () => {
    t = await startTestApp();
    a = await t.tenant();
    waha = await makeChannel(t, a.id, 'waha', { baseUrl: 'http://127.0.0.1:3000', apiKey: 'k', sessionName: 'default', webhookHmacKey: HMAC_KEY });
    await makeChannel(t, a.id, 'cloud-api', cloudCreds(LINE));
  });
  after(() => closeApp(t));
  const message = (pmid: string) => owner(t).selectFrom('messages').select(['sender', 'direction', 'peer']).where('tenant_id', '=', a.id).where('provider_message_id', '=', pmid).executeTakeFirstOrThrow();
  const contact = (address: string) => owner(t).selectFrom('contacts').select(['profile_name', 'is_group']).where('tenant_id', '=', a.id).where('address', '=', address).executeTakeFirstOrThrow();

  it('an echo of a message typed in the WhatsApp Business app is a 1:1 message with no sender and leaves the contact name alone', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const echo = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'WABA1', changes: [{ field: 'smb_message_echoes', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550002222', phone_number_id: LINE },
      message_echoes: [{ from: '15550002222', to: '15559990071', id: 'wamid.echo-s1', timestamp: String(ts), type: 'text', text: { body: 'from the app' } }] } }] }] });
    assert.equal((await postCloud(t, echo)).statusCode, 200);
    await drainAll(t);
    const m = await message('wamid.echo-s1');
    assert.deepEqual(m, { sender: null, direction: 'out', peer: '+15559990071' });
    assert.equal((await contact('+15559990071')).is_group, false);
  });

  it('a WAHA group message without its author stays a group message: the group keeps its name', async () => {
    const post = async (payload: unknown) => {
      const r = await postWaha(t, waha.token, HMAC_KEY, { event: 'message', session: 'default', engine: 'WEBJS', payload });
      assert.equal(r.statusCode, 200, r.body);
      await drainAll(t);
    };
    const group = '120363404882958348@g.us';
    await post({ id: `false_${group}_AAA_31611111111@c.us`, timestamp: Math.floor(Date.now() / 1000), from: group, participant: '31611111111@c.us', fromMe: false, body: 'hi all', hasMedia: false, _data: { notifyName: 'Alice' } });
    await post({ id: `false_${group}_BBB`, timestamp: Math.floor(Date.now() / 1000), from: group, fromMe: false, body: 'no author', hasMedia: false, _data: { notifyName: 'Bob' } });
    const c = await contact(group);
    assert.equal(c.is_group, true);
    assert.equal(c.profile_name, null, 'a sender’s push name never names the group');
    assert.equal((await message(`false_${group}_BBB`)).sender, null);
  });
});
