import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWahaWebhook } from './webhook.js';
import { events, raw } from './test-support.js';

/**
 * The rules CONTRACTS.md §2.4 states for fixtures held back as an acceptance set (GOWS capture
 * without `engine`, ack.group, reaction, revoked, edited, failed acks), exercised with payloads
 * taken from WAHA's docs, its OpenAPI and public captures.
 */

// Real GOWS capture (WAHA 2026.1.4) quoted in a public Rust test: no top-level `engine`, vCards null.
const GOWS_GROUP = {
  id: 'evt_01kg0z18webgjjc8jyk0mvg07b',
  session: 'default',
  event: 'message',
  payload: {
    id: 'false_120363408101232619@g.us_AC79C12F3AD4F6D4A008CF6F141130D5_24610246492311@lid',
    timestamp: 1769559073,
    from: '120363408101232619@g.us',
    fromMe: false,
    source: 'app',
    body: 'Bla',
    to: '24610246492311@lid',
    participant: '24610246492311@lid',
    hasMedia: false,
    media: null,
    ack: 2,
    location: null,
    vCards: null,
    ackName: 'DEVICE',
    replyTo: null,
    _data: {},
  },
  timestamp: 1769559073678,
  me: { id: '31612879047@c.us', pushName: 'Trans Utrecht and Beyond', lid: '69003800264704@lid', jid: '31612879047:2@s.whatsapp.net' },
  environment: { version: '2026.1.4', engine: 'GOWS', tier: 'CORE', browser: null, platform: 'linux/arm64', worker: { id: null } },
};

const env = (event: string, payload: unknown, extra: Record<string, unknown> = {}) => ({ event, session: 'default', engine: 'WEBJS', payload, ...extra });

describe('WAHA messages (acceptance rules)', () => {
  test('GOWS group message without top-level engine', () => {
    const [e, ...rest] = events(GOWS_GROUP);
    assert.equal(rest.length, 0);
    assert.ok(e?.kind === 'message.received');
    assert.equal(e.chat, '120363408101232619@g.us');
    assert.equal(e.from, '24610246492311@lid');
    assert.deepEqual(e.content, { type: 'text', text: 'Bla' });
    assert.equal(e.dedupeKey, `msg:${GOWS_GROUP.payload.id}`);
  });

  test('the same incoming message as `message` and `message.any` has one dedupe key', () => {
    const a = events({ ...GOWS_GROUP, event: 'message' })[0]!;
    const b = events({ ...GOWS_GROUP, id: 'evt_01other', event: 'message.any' })[0]!;
    assert.equal(a.dedupeKey, b.dedupeKey);
  });

  test('own message sent through the API (message.any, source api): fromMe, chat is the recipient', () => {
    const [e] = events(env('message.any', { id: 'true_31687654321@c.us_3EB0AAAA', timestamp: 1700000000, from: '31612879047@c.us', fromMe: true, source: 'api', to: '31687654321@c.us', body: 'hello', hasMedia: false }));
    assert.ok(e?.kind === 'message.received');
    assert.equal(e.fromMe, true);
    assert.equal(e.chat, '+31687654321');
    assert.equal(e.from, '+31687654321');
  });

  test('profile name from WEBJS notifyName / NOWEB pushName', () => {
    const base = { id: 'false_31687654321@c.us_X1', timestamp: 1700000000, from: '31687654321@c.us', fromMe: false, body: 'hi', hasMedia: false };
    assert.equal((events(env('message', { ...base, _data: { notifyName: 'Ana' } }))[0] as { profileName?: string }).profileName, 'Ana');
    assert.equal((events(env('message', { ...base, _data: { pushName: 'Bo' } }))[0] as { profileName?: string }).profileName, 'Bo');
  });

  test('location (string coordinates per OpenAPI WALocation)', () => {
    const [e] = events(env('message', { id: 'false_31687654321@c.us_L1', timestamp: 1700000000, from: '31687654321@c.us', fromMe: false, body: '/9j/thumbnail', hasMedia: false, location: { latitude: '38.8937255', longitude: '-77.0969763', live: false, description: 'Our office' } }));
    assert.ok(e?.kind === 'message.received');
    assert.deepEqual(e.content, { type: 'location', latitude: 38.8937255, longitude: -77.0969763, name: 'Our office' });
  });

  test('vCards → contacts with the WhatsApp id', () => {
    const vcard = 'BEGIN:VCARD\nVERSION:3.0\nFN:Jane Doe\nORG:Company Name;\nTEL;type=CELL;type=VOICE;waid=911111111111:+91 11111 11111\nEND:VCARD';
    const [e] = events(env('message', { id: 'false_31687654321@c.us_V1', timestamp: 1700000000, from: '31687654321@c.us', fromMe: false, body: vcard, hasMedia: false, vCards: [vcard] }));
    assert.ok(e?.kind === 'message.received');
    assert.deepEqual(e.content, {
      type: 'contacts',
      contacts: [{ name: { formatted: 'Jane Doe' }, phones: [{ phone: '+91 11111 11111', type: 'CELL', waId: '911111111111' }], org: { company: 'Company Name' } }],
    });
  });

  test('hasMedia with media null (not downloaded) is still a media message, kind from the engine type', () => {
    const [e] = events(env('message', { id: 'false_31687654321@c.us_M1', timestamp: 1700000000, from: '31687654321@c.us', fromMe: false, body: '', hasMedia: true, media: null, _data: { type: 'ptt' } }));
    assert.ok(e?.kind === 'message.received');
    assert.deepEqual(e.content, { type: 'voice', media: {} });
  });

  test('document via NOWEB raw message, with filename and caption', () => {
    const [e] = events(env('message', { id: 'false_31687654321@c.us_D1', timestamp: 1700000000, from: '31687654321@c.us', fromMe: false, body: 'the contract', hasMedia: true, media: { url: 'http://localhost:3000/api/files/default/D1.pdf', mimetype: 'application/pdf', filename: 'contract.pdf', error: null }, _data: { message: { documentWithCaptionMessage: {} } } }, { engine: 'NOWEB' }));
    assert.ok(e?.kind === 'message.received');
    assert.deepEqual(e.content, { type: 'document', media: { url: 'http://localhost:3000/api/files/default/D1.pdf', mimeType: 'application/pdf', filename: 'contract.pdf' }, caption: 'the contract' });
  });

  test('list replies: WEBJS list_response and NOWEB listResponseMessage', () => {
    const base = { id: 'false_31687654321@c.us_R1', timestamp: 1700000000, from: '31687654321@c.us', fromMe: false, body: 'Option 1', hasMedia: false };
    const [a] = events(env('message', { ...base, _data: { type: 'list_response', listResponse: { title: 'Option 1', singleSelectReply: { selectedRowId: 'option1' } } } }));
    const [b] = events(env('message', { ...base, _data: { message: { listResponseMessage: { title: 'Option 1', description: 'd', singleSelectReply: { selectedRowId: 'option1' } } } } }));
    assert.ok(a?.kind === 'message.received' && b?.kind === 'message.received');
    assert.deepEqual(a.content, { type: 'interactive_reply', kind: 'list', id: 'option1', title: 'Option 1' });
    assert.deepEqual(b.content, { type: 'interactive_reply', kind: 'list', id: 'option1', title: 'Option 1', description: 'd' });
  });

  test('reply target: rebuilt in 1:1 chats when the quoted author is known, bare otherwise', () => {
    const base = { timestamp: 1700000000, from: '31687654321@c.us', fromMe: false, body: 'yes', hasMedia: false };
    const me = { id: '31612879047@c.us', pushName: 'x' };
    const r = (replyTo: unknown, from = base.from) =>
      (events(env('message', { ...base, id: `false_${from}_Q`, from, participant: from.endsWith('@g.us') ? '24610246492311@lid' : null, replyTo }, { me }))[0] as { replyTo?: string }).replyTo;
    assert.equal(r({ id: 'AAA', participant: '31687654321@c.us' }), 'false_31687654321@c.us_AAA');
    assert.equal(r({ id: 'AAA', participant: '31612879047@c.us' }), 'true_31687654321@c.us_AAA');
    assert.equal(r({ id: 'AAA' }), 'AAA');
    assert.equal(r({ id: 'AAA', participant: '31612879047@c.us' }, '120363404882958348@g.us'), 'AAA');
    assert.equal(r(null), undefined);
  });

  test('status@broadcast (stories) and deliberately ignored events give no events', () => {
    assert.deepEqual(events(env('message', { id: 'false_status@broadcast_S1', from: 'status@broadcast', fromMe: false, body: 'story', hasMedia: false })), []);
    for (const ev of ['presence.update', 'poll.vote', 'group.v2.join', 'call.received', 'engine.event', 'state.change', 'message.waiting']) {
      assert.deepEqual(events(env(ev, { anything: true })), [], ev);
    }
  });

  test('unknown events are unsupported, broken envelopes malformed', () => {
    const r = parseWahaWebhook(raw(env('brand.new.event', {})));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'unsupported');
    for (const body of ['not json', '[]', '{}', JSON.stringify({ event: 'message', payload: {} }), JSON.stringify(env('message', null)), JSON.stringify(env('message', { from: 'x@c.us' }))]) {
      const p = parseWahaWebhook(raw(body));
      assert.equal(p.ok, false, body);
      assert.equal(!p.ok && p.reason, 'malformed', body);
    }
  });
});

describe('WAHA acks (acceptance rules)', () => {
  const ack = (event: string, payload: Record<string, unknown>) => events({ event, session: 'default', engine: 'WEBJS', payload });

  test('ack.group as the docs show it (event "message.ack", group id, @lid participant)', () => {
    const payload = { id: 'true_11111111111@g.us_4CC5EDD64BC22EBA6D639F2AF571346C_9999@lid', from: '11111111111@g.us', participant: '9999@lid', fromMe: true, ack: 3, ackName: 'READ' };
    for (const event of ['message.ack', 'message.ack.group']) {
      const [e, ...rest] = ack(event, payload);
      assert.equal(rest.length, 0);
      assert.ok(e?.kind === 'message.status');
      assert.equal(e.status, 'read');
      assert.equal(e.recipient, '9999@lid');
      assert.equal(e.dedupeKey, `status:${payload.id}:3:9999@lid`);
      // The message as our send stored it: without the reader's suffix.
      assert.equal(e.providerMessageId, 'true_11111111111@g.us_4CC5EDD64BC22EBA6D639F2AF571346C');
    }
  });

  test('every ack value: -1 failed (with error), 0 nothing, 1 sent, 2 delivered, 3 read, 4 played', () => {
    const id = 'true_31687654321@c.us_3EB0ABC';
    const got = [-1, 0, 1, 2, 3, 4].map((n) => ack('message.ack', { id, from: '31687654321@c.us', participant: null, fromMe: true, ack: n }).map((e) => (e.kind === 'message.status' ? e.status : e.kind)));
    assert.deepEqual(got, [['failed'], [], ['sent'], ['delivered'], ['read'], ['played']]);
    const [failed] = ack('message.ack', { id, from: '31687654321@c.us', fromMe: true, ack: -1, ackName: 'ERROR' });
    assert.ok(failed?.kind === 'message.status' && failed.error?.code === 'ERROR');
  });

  test('ackName alone is enough; acks on messages we received are not our statuses', () => {
    const [e] = ack('message.ack', { id: 'true_31687654321@c.us_Z', from: '31687654321@c.us', fromMe: true, ackName: 'DEVICE' });
    assert.ok(e?.kind === 'message.status' && e.status === 'delivered');
    assert.deepEqual(ack('message.ack', { id: 'false_31687654321@c.us_Z', from: '31687654321@c.us', fromMe: false, ack: 3 }), []);
  });
});

describe('WAHA reactions, revokes, edits, sessions (acceptance rules)', () => {
  test('message.reaction (docs example) → a received reaction message', () => {
    const [e] = events({
      event: 'message.reaction',
      session: 'default',
      me: { id: '79222222222@c.us', pushName: 'WAHA' },
      payload: { id: 'false_79111111@c.us_11111111111111111111111111111111', from: '79111111@c.us', fromMe: false, participant: '79111111@c.us', to: '79111111@c.us', timestamp: 1710481111.853, reaction: { text: '🙏', messageId: 'true_79111111@c.us_11111111111111111111111111111111' } },
      engine: 'WEBJS',
    });
    assert.ok(e?.kind === 'message.received');
    assert.deepEqual(e.content, { type: 'reaction', messageId: 'true_79111111@c.us_11111111111111111111111111111111', emoji: '🙏' });
    assert.equal(e.chat, '79111111@c.us', 'a JID-shaped id that is no valid number is kept verbatim');
    assert.equal(e.dedupeKey, 'msg:false_79111111@c.us_11111111111111111111111111111111');
    assert.equal(e.timestamp.getTime(), 1710481111853);
  });

  test('removed reaction has an empty emoji; NOWEB reactions inside `message` stay reactions', () => {
    const [a] = events({ event: 'message.reaction', session: 's', payload: { id: 'false_31687654321@c.us_R2', from: '31687654321@c.us', fromMe: false, reaction: { text: '', messageId: 'true_31687654321@c.us_M' } } });
    assert.ok(a?.kind === 'message.received' && a.content.type === 'reaction' && a.content.emoji === '');
    const [b] = events({ event: 'message', session: 's', engine: 'NOWEB', payload: { id: 'false_31687654321@c.us_R3', from: '31687654321@c.us', fromMe: false, body: '', hasMedia: false, _data: { message: { reactionMessage: { key: { remoteJid: '31612879047@s.whatsapp.net', fromMe: true, id: 'M' }, text: '👍' } } } } });
    assert.ok(b?.kind === 'message.received');
    assert.deepEqual(b.content, { type: 'reaction', messageId: 'true_31612879047@c.us_M', emoji: '👍' });
  });

  test('message.revoked (docs shape): target id rebuilt from the revoke action message', () => {
    const [e] = events({ event: 'message.revoked', session: 'default', payload: { after: { id: 'false_31687654321@c.us_BBBBBBBBBBBBBBBBBBBBB', timestamp: 1700000100, from: '31687654321@c.us' }, revokedMessageId: 'AAAAAAAAAAAAAAAA', before: null } });
    assert.deepEqual(e, { kind: 'message.revoked', externalId: 'default', dedupeKey: 'revoked:false_31687654321@c.us_AAAAAAAAAAAAAAAA', timestamp: new Date(1700000100_000), providerMessageId: 'false_31687654321@c.us_AAAAAAAAAAAAAAAA', chat: '+31687654321' });
    const [withBefore] = events({ event: 'message.revoked', session: 'default', payload: { before: { id: 'true_31687654321@c.us_OWN' }, revokedMessageId: 'OWN', after: null } });
    assert.ok(withBefore?.kind === 'message.revoked' && withBefore.providerMessageId === 'true_31687654321@c.us_OWN');
  });

  test('message.edited (docs shape): the edited message, the new body, one event per edit action', () => {
    const [e] = events({ event: 'message.edited', session: 'default', payload: { id: 'false_31687654321@c.us_BBBBBBBBBBBBBBBBBBBBB', timestamp: 1700000200, from: '31687654321@c.us', fromMe: false, editedMessageId: 'AAAAAAAAAAAAAAAA', body: 'New body' } });
    assert.deepEqual(e, { kind: 'message.edited', externalId: 'default', dedupeKey: 'edited:false_31687654321@c.us_BBBBBBBBBBBBBBBBBBBBB', timestamp: new Date(1700000200_000), providerMessageId: 'false_31687654321@c.us_AAAAAAAAAAAAAAAA', text: 'New body', chat: '+31687654321' });
  });

  test('session statuses map to the canonical five; repeated QR refreshes are distinct events', () => {
    const st = (status: string, ts: number) => events({ event: 'session.status', session: 'default', payload: { name: 'default', status, statuses: [{ status, timestamp: ts }] } })[0];
    const map = (s: string) => (st(s, 1)?.kind === 'session.status' ? (st(s, 1) as { status: string }).status : undefined);
    assert.deepEqual(['STOPPED', 'STARTING', 'SCAN_QR_CODE', 'WORKING', 'FAILED', 'PASSKEY_REQUIRED', 'SOMETHING_NEW'].map(map), ['stopped', 'starting', 'scan_qr', 'working', 'failed', 'scan_qr', 'starting']);
    assert.notEqual(st('SCAN_QR_CODE', 1000)?.dedupeKey, st('SCAN_QR_CODE', 21000)?.dedupeKey);
    const legacy = events({ id: 'evt_01abc', event: 'session.status', session: 'default', payload: { status: 'WORKING' } })[0];
    assert.equal(legacy?.dedupeKey, 'session:WORKING:evt_01abc');
  });
});
