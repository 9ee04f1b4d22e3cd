import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../../test/support/fixtures.js';
import type { OutboundContent, SendRequest } from '../../core/canonical.js';
import { ProviderError } from '../../core/errors.js';
import { messageIdFromSendAnswer } from './ids.js';
import { world, type World } from './test-support.js';

const req = (to: string, content: OutboundContent, extra: Partial<SendRequest> = {}): SendRequest => ({ to, content, clientRef: 'msg_01test', ...extra });

async function rejects(p: Promise<unknown>, kind: string, retryable?: boolean): Promise<ProviderError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ProviderError, `expected ProviderError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    if (retryable !== undefined) assert.equal(e.retryable, retryable);
    return e;
  }
  assert.fail(`expected a ${kind} ProviderError`);
}

describe('WAHA adapter ↔ simulator: request bodies equal the documented fixtures', () => {
  let w: World;
  before(async () => (w = await world({ sessionName: 'default' })));
  after(() => w.close());
  const lastBody = (path: string) => w.sim.requests(path).at(-1)?.json;

  test('sendText_request.json', async () => {
    await w.adapter.send(w.ch, req('+12132132130', { type: 'text', text: 'Hi there!' }));
    assert.deepEqual(lastBody('/api/sendText'), fixtureJson('waha', 'sendText_request.json'));
  });

  test('sendImage_request.json', async () => {
    await w.adapter.send(w.ch, req('+12132132130', { type: 'image', media: { url: 'https://github.com/devlikeapro/waha/raw/core/examples/dev.likeapro.jpg', mimeType: 'image/jpeg' }, filename: 'filename.jpeg', caption: 'Check out this image!' }));
    assert.deepEqual(lastBody('/api/sendImage'), fixtureJson('waha', 'sendImage_request.json'));
  });

  test('sendFile_request.json', async () => {
    await w.adapter.send(w.ch, req('+12132132130', { type: 'document', media: { url: 'https://raw.githubusercontent.com/devlikeapro/waha/core/examples/document.pdf', mimeType: 'application/pdf' }, filename: 'document.pdf', caption: 'Check this out!' }));
    assert.deepEqual(lastBody('/api/sendFile'), fixtureJson('waha', 'sendFile_request.json'));
  });

  test('every other content type reaches its endpoint with a body the simulator accepts', async () => {
    const to = '+31687654321';
    const cases: [OutboundContent, string, Record<string, unknown>][] = [
      [{ type: 'text', text: 'see https://x.test', previewUrl: false }, '/api/sendText', { linkPreview: false }],
      [{ type: 'video', media: { url: 'https://cdn.test/clip.mp4' }, caption: 'clip' }, '/api/sendVideo', { file: { mimetype: 'video/mp4', url: 'https://cdn.test/clip.mp4', filename: 'clip.mp4' }, caption: 'clip', convert: false }],
      [{ type: 'video', media: { url: 'https://cdn.test/clip.mov' } }, '/api/sendVideo', { file: { mimetype: 'video/quicktime', url: 'https://cdn.test/clip.mov', filename: 'clip.mov' }, convert: true }],
      [{ type: 'video', media: { url: 'https://cdn.test/stream?id=1', mimeType: 'video/webm' } }, '/api/sendVideo', { file: { mimetype: 'video/webm', url: 'https://cdn.test/stream?id=1', filename: 'video.mp4' }, convert: true }],
      [{ type: 'audio', media: { url: 'https://cdn.test/note.ogg' } }, '/api/sendVoice', { file: { mimetype: 'audio/ogg; codecs=opus', url: 'https://cdn.test/note.ogg' }, convert: false }],
      [{ type: 'audio', media: { url: 'https://cdn.test/song.mp3' } }, '/api/sendVoice', { file: { mimetype: 'audio/mpeg', url: 'https://cdn.test/song.mp3' }, convert: true }],
      [{ type: 'location', latitude: 52.09, longitude: 5.12, name: 'Utrecht Centraal', address: 'Stationshal' }, '/api/sendLocation', { latitude: 52.09, longitude: 5.12, title: 'Utrecht Centraal' }],
      [{ type: 'contacts', contacts: [{ name: { formatted: 'Jane Doe', first: 'Jane', last: 'Doe' }, phones: [{ phone: '+31 6 8765 4321' }], emails: [{ email: 'jane@x.test' }] }] }, '/api/sendContactVcard', {
        contacts: [{ vcard: 'BEGIN:VCARD\nVERSION:3.0\nFN:Jane Doe\nN:Doe;Jane;;;\nTEL;type=CELL;type=VOICE;waid=31687654321:+31 6 8765 4321\nEMAIL;type=INTERNET:jane@x.test\nEND:VCARD' }],
      }],
      [{ type: 'interactive', interactive: { kind: 'list', body: 'Pick one', header: 'Menu', buttonText: 'Choose', sections: [{ rows: [{ id: 'r1', title: 'One', description: 'first' }] }] } }, '/api/sendList', {
        message: { title: 'Menu', description: 'Pick one', button: 'Choose', sections: [{ title: '', rows: [{ title: 'One', rowId: 'r1', description: 'first' }] }] },
      }],
    ];
    for (const [content, path, expected] of cases) {
      const r = await w.adapter.send(w.ch, req(to, content, { replyTo: 'false_31687654321@c.us_QUOTED' }));
      assert.match(r.providerMessageId, /^true_31687654321@c\.us_3EB0[0-9A-F]{18}$/, path);
      const body = lastBody(path) as Record<string, unknown>;
      assert.equal(body.session, 'default');
      assert.equal(body.chatId, '31687654321@c.us');
      assert.equal(body.reply_to, 'false_31687654321@c.us_QUOTED');
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(body[k], v, `${path} ${k}`);
    }
  });

  test('groups and @lid chats are addressed by their JID', async () => {
    await w.adapter.send(w.ch, req('120363404882958348@g.us', { type: 'text', text: 'hi group' }));
    assert.equal((lastBody('/api/sendText') as { chatId: string }).chatId, '120363404882958348@g.us');
    await w.adapter.send(w.ch, req('24610246492311@lid', { type: 'text', text: 'hi lid' }));
    assert.equal((lastBody('/api/sendText') as { chatId: string }).chatId, '24610246492311@lid');
  });

  test('content WAHA cannot send is refused before any HTTP call, permanently', async () => {
    const n = w.sim.received.length;
    const to = '+31687654321';
    await rejects(w.adapter.send(w.ch, req(to, { type: 'template', name: 'hello', language: 'en' })), 'invalid_request', false);
    await rejects(w.adapter.send(w.ch, req(to, { type: 'sticker', media: { url: 'https://x.test/s.webp' } })), 'invalid_request', false);
    await rejects(w.adapter.send(w.ch, req(to, { type: 'image', media: { id: '123' } })), 'invalid_request', false);
    await rejects(w.adapter.send(w.ch, req(to, { type: 'interactive', interactive: { kind: 'buttons', body: 'b', buttons: [{ id: '1', title: 'x' }] } })), 'invalid_request', false);
    await rejects(w.adapter.send(w.ch, req('not-an-address', { type: 'text', text: 'x' })), 'invalid_request', false);
    assert.equal(w.sim.received.length, n);
  });
});

describe('WAHA adapter ↔ simulator: message ids match the status webhooks (per engine)', () => {
  for (const engine of ['WEBJS', 'NOWEB'] as const) {
    test(`${engine}: sent → delivered → read for the id send() returned`, async () => {
      const w = await world({ engine });
      try {
        const { providerMessageId } = await w.adapter.send(w.ch, req('+31687654321', { type: 'text', text: 'hello' }));
        assert.match(providerMessageId, /^true_31687654321@c\.us_/);
        await w.sim.idle();
        const statuses = w.receiver.events().filter((e) => e.kind === 'message.status');
        assert.deepEqual(statuses.map((e) => e.kind === 'message.status' && [e.providerMessageId, e.status, e.recipient]), [
          [providerMessageId, 'sent', '+31687654321'],
          [providerMessageId, 'delivered', '+31687654321'],
          [providerMessageId, 'read', '+31687654321'],
        ]);
        // Switchboard does not subscribe to message.any, so its own sends do not echo back.
        assert.deepEqual(w.receiver.bodies('message.any'), []);
        assert.equal(w.receiver.bodies('message.ack').length, 3);
      } finally {
        await w.close();
      }
    });

    test(`${engine}: reactions`, async () => {
      const w = await world({ engine });
      try {
        const r = await w.adapter.send(w.ch, req('+31687654321', { type: 'reaction', messageId: 'false_31687654321@c.us_AAAA', emoji: '👍' }));
        assert.deepEqual(w.sim.requests('/api/reaction').at(-1)?.json, { session: 'line_one', messageId: 'false_31687654321@c.us_AAAA', reaction: '👍' });
        // WEBJS answers a reaction with an empty body: the message is recorded under our own id.
        if (engine === 'WEBJS') assert.equal(r.providerMessageId, 'switchboard:msg_01test');
        else assert.match(r.providerMessageId, /^true_31687654321@c\.us_3EB0/);
      } finally {
        await w.close();
      }
    });
  }

  test('sendText_response_noweb.json: id rebuilt the way webhooks report it', async () => {
    const answer = fixtureJson('waha', 'sendText_response_noweb.json');
    assert.equal(messageIdFromSendAnswer(answer, '111111111111@c.us'), 'true_111111111111@c.us_3EB08A6895830F110A5E4D');
    const w = await world({ engine: 'NOWEB' });
    try {
      w.sim.injectFault({ path: '/api/sendText', response: { status: 201, json: answer } });
      const r = await w.adapter.send(w.ch, req('+12132132130', { type: 'text', text: 'Hi there!' }));
      assert.equal(r.providerMessageId, 'true_111111111111@c.us_3EB08A6895830F110A5E4D');
    } finally {
      await w.close();
    }
  });

  test('a failed delivery comes back as a failed status', async () => {
    const w = await world();
    try {
      w.sim.failDeliveriesTo('31600000001@c.us');
      const { providerMessageId } = await w.adapter.send(w.ch, req('+31600000001', { type: 'text', text: 'x' }));
      await w.sim.idle();
      const st = w.receiver.events().filter((e) => e.kind === 'message.status' && e.providerMessageId === providerMessageId);
      assert.deepEqual(st.map((e) => e.kind === 'message.status' && e.status), ['failed']);
    } finally {
      await w.close();
    }
  });
});

describe('WAHA adapter failure modes over HTTP', () => {
  let w: World;
  before(async () => (w = await world({ timeoutMs: 2000 })));
  after(() => w.close());
  const text = () => w.adapter.send(w.ch, req('+31687654321', { type: 'text', text: 'x' }));

  test('429 with Retry-After → rate_limited, retryable, wait honoured', async () => {
    w.sim.injectFault({ path: '/api/sendText', response: { status: 429, json: { statusCode: 429, message: 'Too Many Requests' }, headers: { 'retry-after': '12' } } });
    const e = await rejects(text(), 'rate_limited', true);
    assert.equal(e.retryAfterMs, 12_000);
  });

  test('500 exception envelope → unavailable, retryable', async () => {
    w.sim.injectFault({ path: '/api/sendText', response: { status: 500, json: fixtureJson('waha', 'error_500_exception.json') } });
    const e = await rejects(text(), 'unavailable', true);
    assert.equal(e.providerCode, 'SessionError');
  });

  test('a hanging server → timeout, retryable', async () => {
    w.sim.injectFault({ path: '/api/sendText', hang: true });
    await rejects(text(), 'timeout', true);
  });

  test('wrong API key → unauthorized, not retryable (send, session, testConnection)', async () => {
    const bad = { ...w.ch, credentials: { ...w.ch.credentials, apiKey: 'wrong' } };
    await rejects(w.adapter.send(bad, req('+31687654321', { type: 'text', text: 'x' })), 'unauthorized', false);
    await rejects(w.adapter.session.get(bad), 'unauthorized', false);
    await rejects(w.adapter.testConnection(bad), 'unauthorized', false);
  });

  test('unknown session → not_found; session not WORKING → session_not_ready (retryable)', async () => {
    const other = { ...w.ch, credentials: { ...w.ch.credentials, sessionName: 'nobody' } };
    await rejects(w.adapter.send(other, req('+31687654321', { type: 'text', text: 'x' })), 'not_found', false);
    await rejects(w.adapter.testConnection(other), 'not_found', false);
    await w.adapter.session.stop(w.ch);
    const e = await rejects(text(), 'session_not_ready', true);
    assert.equal(e.providerCode, 'STOPPED');
    await w.adapter.session.start(w.ch);
    await w.sim.idle();
    assert.equal((await w.adapter.send(w.ch, req('+31687654321', { type: 'text', text: 'back' }))).providerMessageId.startsWith('true_'), true);
  });

  test('the simulator rejects a bad body and the adapter surfaces it as invalid_request', async () => {
    w.sim.injectFault({ path: '/api/sendText', response: { status: 400, json: { statusCode: 400, message: ['text must be a string'], error: 'Bad Request' } } });
    await rejects(text(), 'invalid_request', false);
  });

  test('testConnection: ok with the session status; a non-WAHA server is unavailable', async () => {
    assert.deepEqual(await w.adapter.testConnection(w.ch), { ok: true, detail: 'session line_one is WORKING' });
    w.sim.injectFault({ path: '/api/sessions/line_one', response: { status: 200, body: '<html>hello</html>' } });
    await rejects(w.adapter.testConnection(w.ch), 'unavailable', true);
  });

  test('connection refused → unavailable, retryable', async () => {
    const dead = { ...w.ch, credentials: { ...w.ch.credentials, baseUrl: 'http://127.0.0.1:9' } };
    await rejects(w.adapter.testConnection(dead), 'unavailable', true);
    await rejects(w.adapter.send(dead, req('+31687654321', { type: 'text', text: 'x' })), 'unavailable', true);
  });
});

describe('WAHA adapter: markRead, media, reads', () => {
  let w: World;
  before(async () => (w = await world({ engine: 'NOWEB' })));
  after(() => w.close());

  test('markRead posts sendSeen; group reads name the participant (NOWEB needs it)', async () => {
    await w.adapter.markRead(w.ch, { providerMessageId: 'false_31687654321@c.us_AAA', chat: '+31687654321' });
    assert.deepEqual(w.sim.requests('/api/sendSeen').at(-1)?.json, { session: 'line_one', chatId: '31687654321@c.us', messageIds: ['false_31687654321@c.us_AAA'] });
    await w.adapter.markRead(w.ch, { providerMessageId: 'false_120363404882958348@g.us_BBB_24610246492311@lid', chat: '120363404882958348@g.us' });
    assert.deepEqual(w.sim.requests('/api/sendSeen').at(-1)?.json, {
      session: 'line_one',
      chatId: '120363404882958348@g.us',
      messageIds: ['false_120363404882958348@g.us_BBB_24610246492311@lid'],
      participant: '24610246492311@lid',
    });
  });

  test('inbound media: the webhook URL names localhost:3000, download goes to baseUrl with the key', async () => {
    const data = Buffer.from('%PDF-1.4 fake');
    const id = w.sim.sendInbound('line_one', { from: '+31687654321', text: 'invoice', media: { data, mimetype: 'application/pdf', filename: 'inv.pdf' }, pushName: 'Ana' });
    await w.sim.idle();
    const ev = w.receiver.events().find((e) => e.kind === 'message.received' && e.providerMessageId === id);
    assert.ok(ev?.kind === 'message.received' && ev.content.type === 'document');
    assert.equal(ev.profileName, 'Ana');
    const url = ev.content.media.url!;
    assert.match(url, /^http:\/\/localhost:3000\/api\/files\/line_one\//);
    const got = await w.adapter.media.download(w.ch, url);
    assert.deepEqual(got, { data, mimeType: 'application/pdf' });
    assert.equal(w.sim.requests('/api/files/').at(-1)?.headers['x-api-key'], w.ch.credentials.apiKey);
    await rejects(w.adapter.media.download(w.ch, 'http://evil.test/etc/passwd'), 'invalid_request', false);
    await rejects(w.adapter.media.download(w.ch, '/api/files/line_one/missing.pdf'), 'not_found', false);
    await rejects(w.adapter.media.upload(w.ch, { data, mimeType: 'application/pdf' }), 'invalid_request', false);
  });

  test('reads: chats, history, contacts, groups (NOWEB shapes) and check-exists', async () => {
    const inId = w.sim.sendInbound('line_one', { from: '120363404882958348@g.us', participant: '24610246492311@lid', text: 'in the group' });
    w.sim.addGroup('line_one', { id: '120363404882958348@g.us', subject: 'Team', participants: ['24610246492311@lid', '31612345678@c.us'] });
    w.sim.addContact('line_one', { id: '31687654321@c.us', name: 'Ana' });
    const chats = await w.adapter.reads.chats(w.ch);
    assert.ok(chats.some((c) => c.id === '120363404882958348@g.us' && c.name === 'Team' && c.lastActivityAt instanceof Date));
    const history = await w.adapter.reads.messages(w.ch, '120363404882958348@g.us', { limit: 5 });
    assert.equal(history[0]?.providerMessageId, inId);
    assert.equal(history[0]?.from, '24610246492311@lid');
    assert.deepEqual(history[0]?.content, { type: 'text', text: 'in the group' });
    assert.equal(w.sim.requests(/\/messages$/).at(-1)?.query.limit, '5');
    const contacts = await w.adapter.reads.contacts(w.ch);
    assert.ok(contacts.some((c) => c.address === '+31687654321' && c.name === 'Ana'));
    assert.deepEqual(await w.adapter.reads.groups(w.ch), [{ id: '120363404882958348@g.us', subject: 'Team', participants: ['24610246492311@lid', '+31612345678'] }]);
    assert.deepEqual(await w.adapter.reads.checkExists(w.ch, '+31 6 8765 4321'), { exists: true, address: '+31687654321' });
    assert.deepEqual(await w.adapter.reads.checkExists(w.ch, '0001234567'), { exists: false });
  });

  test('check_exists_response.json: the documented answer reads as exists + canonical address', async () => {
    w.sim.injectFault({ path: '/api/contacts/check-exists', response: { status: 200, json: fixtureJson('waha', 'check_exists_response.json') } });
    // `1111111@c.us` is not a valid phone number, so the JID is kept verbatim.
    assert.deepEqual(await w.adapter.reads.checkExists(w.ch, '1111111'), { exists: true, address: '1111111@c.us' });
    assert.equal(w.sim.requests('/api/contacts/check-exists').at(-1)?.query.phone, '1111111');
  });
});

describe('WAHA adapter reads on WEBJS shapes', () => {
  test('nested {_serialized} ids and group lists', async () => {
    const w = await world({ engine: 'WEBJS' });
    try {
      w.sim.sendInbound('line_one', { from: '31687654321@c.us', text: 'hi' });
      w.sim.addGroup('line_one', { id: '120363404882958348@g.us', subject: 'Team', participants: ['24610246492311@lid'] });
      const chats = await w.adapter.reads.chats(w.ch);
      assert.deepEqual(chats.map((c) => c.id), ['+31687654321']);
      assert.deepEqual(await w.adapter.reads.groups(w.ch), [{ id: '120363404882958348@g.us', subject: 'Team', participants: ['24610246492311@lid'] }]);
    } finally {
      await w.close();
    }
  });
});
