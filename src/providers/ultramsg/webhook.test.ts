import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureJson } from '../../../test/support/fixtures.js';
import type { InboundEvent } from '../../core/canonical.js';
import { ultramsgWebhook as wh } from './webhook.js';
import { raw } from './test-support.js';

type Env = Record<string, unknown> & { data: Record<string, unknown> };
const received = () => fixtureJson<Env>('ultramsg', 'webhook_message_received.json');
const ack = () => fixtureJson<Env>('ultramsg', 'webhook_message_ack_derived.json');

function events(body: unknown): InboundEvent[] {
  const r = wh.parse(raw(body as object));
  assert.equal(r.ok, true, JSON.stringify(r));
  return (r as { events: InboundEvent[] }).events;
}

describe('UltraMsg webhook parse', () => {
  test("a Mexican mobile as WhatsApp names it (521…) is a sender, not a malformed body (the message was lost)", () => {
    const body = received();
    body.data = { ...body.data, from: '5215512345678@c.us', id: 'false_5215512345678@c.us_3EB0MX' };
    const [e] = events(body);
    assert.ok(e?.kind === 'message.received');
    assert.equal(e.chat, '+5215512345678');
    assert.equal(e.from, '+5215512345678');
  });

  test('webhook_message_received.json → one incoming text message', () => {
    const evs = events(received());
    assert.equal(evs.length, 1);
    const e = evs[0]!;
    assert.equal(e.kind, 'message.received');
    if (e.kind !== 'message.received') return;
    assert.equal(e.externalId, 'instance1150');
    assert.equal(e.providerMessageId, 'false_10172127174@c.us_3EB02E5EB89CE03FB034');
    assert.equal(e.dedupeKey, 'msg:false_10172127174@c.us_3EB02E5EB89CE03FB034');
    assert.equal(e.chat, '+10172127174');
    assert.equal(e.from, '+10172127174');
    assert.equal(e.fromMe, false);
    assert.equal(e.profileName, 'E.St');
    assert.equal(e.replyTo, undefined);
    assert.deepEqual(e.content, { type: 'text', text: 'Hi' });
    assert.equal(e.timestamp.toISOString(), new Date(1650002663 * 1000).toISOString());
  });

  test('webhook_message_ack_derived.json → read status keyed by the WhatsApp id when no queue id/referenceId', () => {
    const evs = events(ack());
    assert.equal(evs.length, 1);
    const e = evs[0]!;
    assert.equal(e.kind, 'message.status');
    if (e.kind !== 'message.status') return;
    assert.equal(e.status, 'read');
    assert.equal(e.externalId, 'instance1150');
    assert.equal(e.providerMessageId, 'true_10172127174@c.us_3EB02E5EB89CE03FB034');
    assert.equal(e.recipient, '+10172127174');
    assert.equal(e.dedupeKey, 'ack:true_10172127174@c.us_3EB02E5EB89CE03FB034:read');
  });

  test('ack strings map to canonical statuses; pending yields nothing', () => {
    const want: Record<string, string | null> = { pending: null, server: 'sent', device: 'delivered', read: 'read', played: 'played', error: 'failed' };
    for (const [ackWord, status] of Object.entries(want)) {
      const body = ack();
      body.data.ack = ackWord;
      const evs = events(body);
      if (status === null) assert.equal(evs.length, 0);
      else {
        assert.equal(evs.length, 1);
        const e = evs[0]!;
        assert.ok(e.kind === 'message.status' && e.status === status, `${ackWord} → ${status}`);
        if (status === 'failed') assert.ok(e.kind === 'message.status' && e.error?.code === 'error');
      }
    }
    const bad = ack();
    bad.data.ack = 'teleported';
    const r = wh.parse(raw(bad));
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.reason === 'unsupported');
  });

  test('status id rule: our referenceId, else queue id, else data.id', () => {
    const pid = (body: unknown) => (events(body)[0] as { providerMessageId: string }).providerMessageId;
    const withQueue = ack();
    withQueue.id = '44897';
    withQueue.referenceId = 'msg_01ABC';
    assert.equal(pid(withQueue), 'msg_01ABC', 'our own id first: it matches before the send result is saved');
    const queueOnly = ack();
    queueOnly.id = 44898;
    assert.equal(pid(queueOnly), '44898');
    const refOnly = ack();
    refOnly.referenceId = 'msg_01ABC';
    assert.equal(pid(refOnly), 'msg_01ABC');
    const nonNumericId = ack();
    nonNumericId.id = 'evt-xyz';
    nonNumericId.referenceId = 'msg_01DEF';
    assert.equal(pid(nonNumericId), 'msg_01DEF');
    // Someone else's referenceId (another integration on the same instance) names nothing of ours.
    const foreign = ack();
    foreign.referenceId = 'order-77';
    assert.equal(pid(foreign), 'true_10172127174@c.us_3EB02E5EB89CE03FB034');
    foreign.id = '44899';
    assert.equal(pid(foreign), '44899');
    for (const bad of ['msg_', 'msg_01 AB', 'MSG_01ABC', 'msg_01-AB']) {
      const b = ack();
      b.referenceId = bad;
      assert.equal(pid(b), 'true_10172127174@c.us_3EB02E5EB89CE03FB034', bad);
    }
    // dedupe stays keyed on the WhatsApp id whatever handle is reported
    assert.equal(events(withQueue)[0]!.dedupeKey, events(refOnly)[0]!.dedupeKey);
  });

  test('message_create fromMe naming our message (referenceId msg_…): a sent status of it, not a new message', () => {
    const body = received();
    body.event_type = 'message_create';
    body.id = '44897';
    body.referenceId = 'msg_01XYZ';
    body.data = { ...body.data, id: 'true_14155552671@c.us_AAA', from: '10172127170@c.us', to: '14155552671@c.us', fromMe: true, pushname: 'Me', ack: 'pending' };
    const evs = events(body);
    assert.equal(evs.length, 1);
    assert.deepEqual(evs[0], {
      kind: 'message.status', externalId: 'instance1150', dedupeKey: 'echo:true_14155552671@c.us_AAA', timestamp: new Date(1650002663 * 1000),
      providerMessageId: 'msg_01XYZ', status: 'sent', recipient: '+14155552671',
    });
    // its own dedupe key: the `server` ack (also sent) of the same message is not taken for a redelivery
    const server = { ...body, event_type: 'message_ack', data: { ...body.data, ack: 'server' } };
    assert.notEqual(events(server)[0]!.dedupeKey, evs[0]!.dedupeKey);
  });

  test('message_create fromMe not sent through us: peer is `to`, sender is the line, id follows the own-message rule', () => {
    const body = received();
    body.event_type = 'message_create';
    body.id = '44897';
    body.referenceId = '';
    body.data = { ...body.data, id: 'true_14155552671@c.us_AAA', from: '10172127170@c.us', to: '14155552671@c.us', fromMe: true, pushname: 'Me' };
    const e = events(body)[0]!;
    assert.ok(e.kind === 'message.received');
    assert.equal(e.fromMe, true);
    assert.equal(e.chat, '+14155552671');
    assert.equal(e.from, '+10172127170');
    assert.equal(e.providerMessageId, '44897');
    assert.equal(e.profileName, undefined);
    assert.equal(e.dedupeKey, 'msg:true_14155552671@c.us_AAA');
    // typed on the phone: no queue id either, the WhatsApp id it is
    const phone = { ...body, id: '', referenceId: 'order-77' };
    const p = events(phone)[0]!;
    assert.ok(p.kind === 'message.received' && p.providerMessageId === 'true_14155552671@c.us_AAA');
  });

  test('a message_received that is not fromMe is never taken for an echo, whatever its referenceId', () => {
    const body = received();
    body.referenceId = 'msg_01XYZ';
    const e = events(body)[0]!;
    assert.ok(e.kind === 'message.received' && !e.fromMe && e.providerMessageId === 'false_10172127174@c.us_3EB02E5EB89CE03FB034');
  });

  test('message_create for an incoming message has the same dedupe key as message_received', () => {
    const body = received();
    body.event_type = 'message_create';
    assert.equal(events(body)[0]!.dedupeKey, events(received())[0]!.dedupeKey);
  });

  test('group message: chat is the group, from is the author', () => {
    const body = received();
    body.data = { ...body.data, from: '120363025246125486@g.us', author: '14155552671@c.us', id: 'false_120363025246125486@g.us_BBB_14155552671@c.us' };
    const e = events(body)[0]!;
    assert.ok(e.kind === 'message.received');
    assert.equal(e.chat, '120363025246125486@g.us');
    assert.equal(e.from, '+14155552671');
    const lid = received();
    lid.data = { ...lid.data, from: '120363025246125486@g.us', author: '123456789012345@lid' };
    const l = events(lid)[0]!;
    assert.ok(l.kind === 'message.received' && l.from === '123456789012345@lid');
  });

  test('media, location, vcard, quoted and unknown types', () => {
    const make = (data: Record<string, unknown>) => {
      const b = received();
      b.data = { ...b.data, ...data };
      const e = events(b)[0]!;
      assert.ok(e.kind === 'message.received');
      return e;
    };
    assert.deepEqual(make({ type: 'image', body: 'look', media: 'https://cdn.example/x.jpg' }).content, {
      type: 'image',
      media: { url: 'https://cdn.example/x.jpg' },
      caption: 'look',
    });
    assert.deepEqual(make({ type: 'ptt', body: '', media: 'https://cdn.example/v.ogg' }).content, { type: 'voice', media: { url: 'https://cdn.example/v.ogg' } });
    assert.deepEqual(make({ type: 'document', body: '', media: '', filename: 'a.pdf' }).content, { type: 'document', media: { filename: 'a.pdf' } });
    for (const t of ['video', 'audio', 'sticker']) assert.equal(make({ type: t, media: 'https://m/x' }).content.type, t);
    assert.deepEqual(make({ type: 'location', body: '', location: { latitude: 25.19, longitude: '55.27', description: 'Tower' } }).content, {
      type: 'location',
      latitude: 25.19,
      longitude: 55.27,
      name: 'Tower',
    });
    assert.deepEqual(make({ type: 'location', location: { latitude: 500, longitude: 1 } }).content, { type: 'unsupported', providerType: 'location' });
    const card = make({ type: 'vcard', body: 'BEGIN:VCARD\nVERSION:3.0\nFN:Ana Diaz\nN:Diaz;Ana;;;\nTEL;type=CELL;waid=14155552671:+1 415 555 2671\nEND:VCARD' }).content;
    assert.deepEqual(card, {
      type: 'contacts',
      contacts: [{ name: { formatted: 'Ana Diaz', first: 'Ana', last: 'Diaz' }, phones: [{ phone: '+14155552671', waId: '14155552671' }] }],
    });
    assert.deepEqual(make({ type: 'poll_creation' }).content, { type: 'unsupported', providerType: 'poll_creation' });
    assert.equal(make({ quotedMsg: { id: 'true_1@c.us_Q' } }).replyTo, 'true_1@c.us_Q');
  });

  test('an odd time never costs the message: milliseconds are read as such, a non-time is the arrival time', () => {
    const at = (time: unknown) => {
      const [e] = events({ ...received(), data: { ...received().data, time } });
      assert.ok(e?.kind === 'message.received', String(time));
      return e.timestamp.getTime();
    };
    assert.equal(at(1_700_000_000), 1_700_000_000_000);
    assert.equal(at(1_700_000_000_123), 1_700_000_000_123);
    for (const odd of ['yesterday', -5, 1e300]) {
      const before = Date.now();
      assert.ok(at(odd) >= before, String(odd));
    }
  });

  test("contacts' status updates (status@broadcast) are not messages to the line", () => {
    assert.deepEqual(events({ ...received(), data: { ...received().data, from: 'status@broadcast', author: '14155552671@c.us' } }), []);
  });

  test('hostile or unknown envelopes are rejected, never thrown', () => {
    const cases: [unknown, string][] = [
      ['not json', 'malformed'],
      [[], 'malformed'],
      [{ ...received(), instanceId: 'abc' }, 'malformed'],
      [{ ...received(), event_type: 'instance_status' }, 'unsupported'],
      [{ ...received(), data: null }, 'malformed'],
      [{ ...received(), data: { ...received().data, id: '' } }, 'malformed'],
      [{ ...received(), data: { ...received().data, from: 'nobody' } }, 'malformed'],
    ];
    for (const [body, reason] of cases) {
      const r = wh.parse(raw(typeof body === 'string' ? body : (body as object)));
      assert.equal(r.ok, false, JSON.stringify(body).slice(0, 80));
      assert.equal(!r.ok && r.reason, reason);
    }
  });

  test('an array of envelopes is parsed as a batch', () => {
    const evs = events([received(), ack()]);
    assert.deepEqual(evs.map((e) => e.kind), ['message.received', 'message.status']);
  });

  test('routingKeys is empty: UltraMsg is routed by the URL token', () => {
    assert.deepEqual(wh.routingKeys(raw(received())), []);
  });
});

describe('UltraMsg webhook verify (instance match; the URL token is checked by the ingress)', () => {
  const creds = { instanceId: 'instance1150', token: 'secret' };
  test('matching instance verifies, in either credential spelling', () => {
    assert.equal(wh.verify(raw(received()), creds), true);
    assert.equal(wh.verify(raw(ack()), { ...creds, instanceId: '1150' }), true);
  });
  test('another instance, a tampered instanceId, or garbage fails', () => {
    assert.equal(wh.verify(raw(received()), { ...creds, instanceId: 'instance1151' }), false);
    const tampered = Buffer.from(JSON.stringify(received()).replace('"1150"', '"1151"'));
    assert.equal(wh.verify(raw(tampered), creds), false);
    assert.equal(wh.verify(raw('{'), creds), false);
    assert.equal(wh.verify(raw([received(), { ...ack(), instanceId: '9' }]), creds), false);
    assert.equal(wh.verify(raw(received()), { ...creds, instanceId: 'bogus' }), false);
  });
});
