/**
 * `GET /v1/messages/{id}/media` (decision 057): a customer's photo or PDF is stored as the provider's
 * reference — a Cloud API media id, a WAHA `/api/files/…` URL — which only the line's credentials
 * open, so the tenant could see that a file came but never open it. Real HTTP to the simulators.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { createWahaSimulator, type WahaSimulator } from '../../src/providers/waha/index.js';
import { createCloudApiSimulator, type CloudApiSimulator } from '../../src/providers/cloud-api/simulator.js';
import { closeApp, makeChannel, postWaha, until } from './support.js';

const WAHA_KEY = 'waha-key-0123456789';

describe('message media: the file behind a media message, fetched with the line credentials', () => {
  let t: TestApp;
  let waha: WahaSimulator;
  let cloud: CloudApiSimulator;
  let base: string;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let wahaChannel: string;
  let cloudChannel: string;

  before(async () => {
    t = await startTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
    waha = createWahaSimulator({ apiKey: WAHA_KEY });
    cloud = createCloudApiSimulator({ webhookUrl: `${base}/webhooks/cloud-api` });
    await Promise.all([waha.listen(), cloud.listen()]);
    a = await t.tenant();
    b = await t.tenant();

    const w = await t.app.inject({
      method: 'POST', url: '/v1/channels', headers: bearer(a.key),
      payload: { name: 'waha', provider: 'waha', credentials: { baseUrl: waha.url, apiKey: WAHA_KEY, sessionName: 'shop', webhookHmacKey: 'hmac-key-0123456789' } },
    });
    assert.equal(w.statusCode, 201, w.body);
    wahaChannel = w.json().id;
    // WAHA posts to the channel's webhook URL; in this test Switchboard listens on a random port.
    const hook = (waha.session('shop').config.webhooks as { url: string }[])[0]!;
    hook.url = `${base}${new URL(hook.url).pathname}`;
    await until('waiting for a QR scan', () => waha.session('shop').status === 'SCAN_QR_CODE');
    waha.pair('shop', { id: '31611111111@c.us', pushName: 'Shop' });

    const c = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(a.key), payload: { name: 'cloud', provider: 'cloud-api', credentials: cloud.credentials() } });
    assert.equal(c.statusCode, 201, c.body);
    cloudChannel = c.json().id;
  });
  after(async () => {
    await Promise.all([waha.close(), cloud.close()]);
    await closeApp(t);
  });

  const inbound = async (tenantKey: string, channelId: string, n = 1) => {
    let rows: { id: string; type: string }[] = [];
    await until('the inbound message is visible', async () => {
      const r = await t.app.inject({ url: `/v1/messages?channel_id=${channelId}&direction=in`, headers: bearer(tenantKey) });
      rows = r.json().data;
      return rows.length >= n;
    });
    return rows[0]!;
  };
  const media = (id: string, key = a.key) => t.app.inject({ url: `/v1/messages/${id}/media`, headers: bearer(key) });

  it('WAHA: the file is fetched from the WAHA server with its API key, served as a download', async () => {
    const data = Buffer.from('%PDF-1.4 invoice 42');
    waha.sendInbound('shop', { from: '+31687654321', text: 'invoice', media: { data, mimetype: 'application/pdf', filename: 'Rechnung März.pdf' }, pushName: 'Ana' });
    const msg = await inbound(a.key, wahaChannel);
    assert.equal(msg.type, 'document');
    const before = waha.requests('/api/files/').length;
    const r = await media(msg.id);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.rawPayload, data);
    assert.equal(r.headers['content-type'], 'application/pdf');
    assert.equal(r.headers['content-disposition'], `attachment; filename="Rechnung M_rz.pdf"; filename*=UTF-8''${encodeURIComponent('Rechnung März.pdf')}`);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    const got = waha.requests('/api/files/');
    assert.equal(got.length, before + 1);
    assert.equal(got.at(-1)!.headers['x-api-key'], WAHA_KEY, 'WAHA files need the key, which the tenant never sees');

    // Another tenant, and a key without messages:read, get nothing — and WAHA is not asked.
    assert.equal((await media(msg.id, b.key)).statusCode, 404);
    const narrow = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(a.key), payload: { name: 'send-only', scopes: ['messages:write'] } });
    assert.equal(narrow.statusCode, 201, narrow.body);
    assert.equal((await media(msg.id, narrow.json().key)).statusCode, 403);
    assert.equal(waha.requests('/api/files/').length, before + 1);
  });

  it('WAHA: a file WAHA no longer holds is a 404; WAHA down is a 502, not a 500', async () => {
    const data = Buffer.from('GIF89a');
    const providerId = waha.sendInbound('shop', { from: '+31687654322', text: '', media: { data, mimetype: 'image/gif' } });
    let msg: { id: string; provider_message_id: string } | undefined;
    await until('the image is visible', async () => {
      const r = await t.app.inject({ url: `/v1/messages?channel_id=${wahaChannel}&direction=in`, headers: bearer(a.key) });
      msg = (r.json().data as { id: string; provider_message_id: string }[]).find((m) => m.provider_message_id === providerId);
      return msg !== undefined;
    });
    waha.session('shop').files.clear();
    const gone = await media(msg!.id);
    assert.equal(gone.statusCode, 404, gone.body);
    assert.match(gone.json().detail, /no longer holds/);

    // The line's WAHA server goes away (a closed port): the stored address is changed under the API,
    // which would refuse it in its connection test.
    const down = createWahaSimulator({ apiKey: WAHA_KEY });
    const deadUrl = await down.listen();
    await down.close();
    const point = (url: string) => t.asOwner((o) => o.query(`update channels set settings = jsonb_set(settings, '{baseUrl}', to_jsonb($1::text)) where id = $2`, [url, wahaChannel]));
    await point(deadUrl);
    try {
      const r = await media(msg!.id);
      assert.equal(r.statusCode, 502, r.body);
      assert.equal(r.json().code, 'provider_unavailable');
    } finally {
      await point(waha.url);
    }
  });

  it("WAHA: a file sent from the line's own phone (an echo) is fetched from WAHA too, not redirected to WAHA's internal address", async () => {
    const data = Buffer.from('%PDF-1.4 sent from the phone');
    waha.session('shop').files.set('ECHOFILE.pdf', { data, mimetype: 'application/pdf' });
    const token = (await t.app.inject({ url: `/v1/channels/${wahaChannel}`, headers: bearer(a.key) })).json().webhook_url.split('/').pop();
    const r = await postWaha(t, token, 'hmac-key-0123456789', { event: 'message.any', session: 'shop', engine: 'WEBJS', payload: {
      id: 'true_31687654399@c.us_3EB0ECHOFILE', timestamp: Math.floor(Date.now() / 1000), from: '31611111111@c.us', to: '31687654399@c.us', fromMe: true,
      body: '', hasMedia: true, media: { url: 'http://localhost:3000/api/files/shop/ECHOFILE.pdf', mimetype: 'application/pdf', filename: 'offer.pdf' } } });
    assert.equal(r.statusCode, 200, r.body);
    let id: string | undefined;
    await until('the echo is visible', async () => {
      const out = (await t.app.inject({ url: `/v1/messages?channel_id=${wahaChannel}&direction=out`, headers: bearer(a.key) })).json().data as { id: string; provider_message_id: string }[];
      id = out.find((m) => m.provider_message_id === 'true_31687654399@c.us_3EB0ECHOFILE')?.id;
      return id !== undefined;
    });
    const file = await media(id!);
    assert.equal(file.statusCode, 200, `${file.statusCode} ${file.headers.location ?? file.body}`);
    assert.deepEqual(file.rawPayload, data);
  });

  it('Cloud API: the media id is looked up and downloaded with the access token', async () => {
    const data = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
    const creds = cloud.credentials();
    const { id: mediaId } = await t.ctx.providers.adapter('cloud-api').media!.upload({ tenantId: a.id, channelId: cloudChannel, credentials: creds }, { data, mimeType: 'image/jpeg', filename: 'p.jpg' });
    const sent = await cloud.sendInbound({ from: '4915112345678', type: 'image', body: { id: mediaId, mime_type: 'image/jpeg', sha256: 'x', caption: 'look' } });
    assert.equal(sent.status, 200, sent.body);
    const msg = await inbound(a.key, cloudChannel);
    assert.equal(msg.type, 'image');
    const r = await media(msg.id);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.rawPayload, data);
    assert.equal(r.headers['content-type'], 'image/jpeg');
    assert.equal(r.headers['content-disposition'], 'attachment');
    assert.equal(cloud.requests(`/${mediaId}`).at(-1)!.headers.authorization, `Bearer ${creds.accessToken}`);
  });

  it('UltraMsg: the file is a link on its file host: a 302 to it; a text message has no file', async () => {
    const u = await makeChannel(t, b.id, 'ultramsg', { instanceId: 'instance77', token: 'ultra-token' });
    const post = (data: Record<string, unknown>) => t.app.inject({
      method: 'POST', url: `/webhooks/ultramsg/${u.token}`, headers: { 'content-type': 'application/json' },
      payload: { event_type: 'message_received', instanceId: '77', id: '', referenceId: '', data: { from: '10172127174@c.us', to: '10172127170@c.us', author: '', pushname: 'E', ack: '', fromMe: false, time: 1650002663, ...data } },
    });
    assert.equal((await post({ id: 'false_10172127174@c.us_IMG1', type: 'image', body: '', media: 'https://file.ultramsg.com/2026/11/abc.jpg' })).statusCode, 200);
    assert.equal((await post({ id: 'false_10172127174@c.us_TXT1', type: 'chat', body: 'hi', media: '' })).statusCode, 200);
    // UltraMsg sends `media: ""` for a file it has not downloaded.
    assert.equal((await post({ id: 'false_10172127174@c.us_DOC1', type: 'document', body: '', media: '' })).statusCode, 200);
    let rows: { id: string; type: string }[] = [];
    await until('all three visible', async () => {
      rows = (await t.app.inject({ url: `/v1/messages?channel_id=${u.id}`, headers: bearer(b.key) })).json().data;
      return rows.length === 3;
    });
    const notFetched = await media(rows.find((m) => m.type === 'document')!.id, b.key);
    assert.equal(notFetched.statusCode, 404);
    assert.match(notFetched.json().detail, /did not download/);
    const image = rows.find((m) => m.type === 'image')!;
    const r = await media(image.id, b.key);
    assert.equal(r.statusCode, 302, r.body);
    assert.equal(r.headers.location, 'https://file.ultramsg.com/2026/11/abc.jpg');
    const text = await media(rows.find((m) => m.type === 'text')!.id, b.key);
    assert.equal(text.statusCode, 404);
    assert.equal(text.json().code, 'not_found');
    assert.equal((await media('msg_01JZZZZZZZZZZZZZZZZZZZZZZZ', b.key)).statusCode, 404);
  });
});
