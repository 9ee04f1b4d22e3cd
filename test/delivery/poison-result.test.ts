/**
 * One result the database refuses must not take its flush down (review of 2026-12-01). A provider's
 * error text cut through an emoji at character 500, or carrying a NUL, was refused by PostgreSQL:
 * the whole flush rolled back, so the failing message was never failed (sent again every lease,
 * holding its chat) and the flush's successes were sent again to customers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { bearer, startTestApp, type TestApp } from '../support/app.js';
import { startScheduler, type Scheduler } from '../../src/delivery/scheduler.js';
import { createUltramsgSimulator, type UltramsgSimulator } from '../../src/providers/ultramsg/index.js';
import { decide, DEFAULT_RETRY } from '../../src/delivery/backoff.js';
import { ProviderError } from '../../src/core/errors.js';
import { storableText } from '../../src/core/text.js';
import { addChannel, until } from './helpers.js';
import { createCloudApiSimulator } from '../../src/providers/cloud-api/index.js';
import { owner } from '../inbound/support.js';

const LEASE_MS = 1000;

describe('delivery results the database would refuse', () => {
  let t: TestApp;
  let sim: UltramsgSimulator;
  let sched: Scheduler | undefined;
  before(async () => {
    t = await startTestApp();
    sim = createUltramsgSimulator({ instances: [{ instanceId: 'instance5001', token: 'tok-p', phone: '15550005001' }, { instanceId: 'instance5002', token: 'tok-q', phone: '15550005002' }], ackDelaysMs: { server: 600_000, device: 600_001, read: 600_002 } });
    await sim.listen();
  });
  after(async () => {
    await sched?.stop(1000);
    await t.close();
    await sim.close();
  });

  it('storableText never cuts a surrogate pair and replaces NUL and lone halves', () => {
    const s = `${'x'.repeat(499)}\u{1F600}tail`;
    assert.equal(storableText(s, 500), 'x'.repeat(499));
    assert.equal(storableText('a\u0000b\uD800c\uDC00', 100), 'a\uFFFDb\uFFFDc\uFFFD');
    assert.equal(storableText('ok \u{1F600}', 100), 'ok \u{1F600}');
    const pe = new ProviderError({ kind: 'invalid_request', retryable: false, message: `bad\u0000${'y'.repeat(600)}\u{1F600}`, providerCode: 'e\u0000' });
    assert.equal(pe.providerCode, 'e\uFFFD');
    const out = decide(pe, 1, 0, DEFAULT_RETRY);
    assert.ok(!out.detail.includes('\u0000') && out.detail.length <= 500 && !/[\uD800-\uDBFF]$/.test(out.detail));
  });

  const accept = async (key: string, messages: unknown[]) => {
    const r = await t.app.inject({ method: 'POST', url: '/v1/messages/batch', headers: bearer(key), payload: { messages } });
    assert.equal(r.statusCode, 202, r.body);
    return (r.json().data as { id: string }[]).map((d) => d.id);
  };
  const statuses = async (ids: string[]) =>
    (await sql<{ id: string; status: string; error_code: string | null; error_detail: string | null }>`select id, status, error_code, error_detail from messages where id = any(${ids}) order by id`.execute(owner(t))).rows;

  it('a permanent error whose text ends inside an emoji and holds a NUL fails its message once; the flush is saved, nothing sent twice', { timeout: 60_000 }, async () => {
    const tenant = await t.tenant();
    const r = await t.app.inject({ method: 'POST', url: '/v1/channels', headers: bearer(tenant.key),
      payload: { name: 'u', provider: 'ultramsg', credentials: { instanceId: 'instance5001', token: 'tok-p', baseUrl: sim.url }, rate_per_second: 200, burst: 200 } });
    assert.equal(r.statusCode, 201, r.body);
    const ch = r.json().id as string;
    // The adapter's message is "UltraMsg: " + this: the emoji straddles character 500.
    // Answered slowly enough that texts and the image land in the same result flushes.
    sim.server.injectFault({ path: /\/messages\/image$/, times: Infinity, delayMs: 50, response: { status: 200, json: { error: `media rejected:\u0000 ${'x'.repeat(472)}\u{1F600} see docs` } } });
    sim.server.injectFault({ path: /\/messages\/chat$/, times: Infinity, delayMs: 50 });
    const [image, after] = await accept(tenant.key, [
      { channel_id: ch, to: '+14155553999', content: { type: 'image', media: { url: 'https://example.com/a.jpg' } } },
      { channel_id: ch, to: '+14155553999', content: { type: 'text', text: 'after the image, same chat' } },
    ]);
    const N = 30;
    const texts = await accept(tenant.key, Array.from({ length: N }, (_, i) => ({ channel_id: ch, to: `+1415555${3000 + i}`, content: { type: 'text', text: `m${i}` } })));
    sched = startScheduler(t.ctx, { leaseMs: LEASE_MS, retry: { baseDelayMs: 100, maxDelayMs: 400, maxAgeMs: 60_000 } });
    await until(async () => (await statuses([...texts, after!])).every((m) => m.status === 'sent'), 30_000, 'every text sent, the one behind the image too', 100);
    // Past two leases: a flush that was not saved would be claimed and sent again by now.
    await new Promise((res) => setTimeout(res, 2.5 * LEASE_MS));
    const [img] = await statuses([image!]);
    assert.equal(img!.status, 'failed');
    assert.ok(img!.error_code?.startsWith('provider_rejected'), img!.error_code ?? '');
    assert.match(img!.error_detail ?? '', /media rejected:\uFFFD x+$/);
    assert.equal(sim.server.requests(/\/messages\/image$/).length, 1, 'a permanent error is tried once');
    assert.equal(sim.server.requests(/\/messages\/chat$/).length, N + 1, 'no text sent twice');
    await sched.stop(1000);
    sched = undefined;
    sim.server.clearFaults();
  });

  it('a result the database refuses for any other reason: the rest of its flush is saved; it stays unrecorded and is never sent again', { timeout: 60_000 }, async () => {
    // A Cloud API line: no random pause before sends, so results come back together.
    const cloud = createCloudApiSimulator({ phones: [{ phoneNumberId: '100000000000077' }] });
    await cloud.listen();
    const tenant = await t.tenant();
    const ch = await addChannel(t, tenant.key, cloud, 0, 200);
    const N = 20;
    const ids = await accept(tenant.key, Array.from({ length: N }, (_, i) => ({ channel_id: ch, to: `+1415556${3000 + i}`, content: { type: 'text', text: `p${i}` } })));
    const poisoned = ids[7]!;
    // Stands in for whatever else a database may refuse in one result. The first flush's write is
    // slowed so that the other results, the refused one among them, gather into one flush behind it.
    await t.asOwner(async (o) => {
      await o.query('create table test_first_write (done boolean)');
      await o.query(`create function test_refuse() returns trigger language plpgsql security definer as $$ begin
        if new.id = '${poisoned}' and new.status = 'sent' then raise exception 'refused for the test'; end if;
        if new.status = 'sent' and not exists (select 1 from test_first_write) then insert into test_first_write values (true); perform pg_sleep(0.5); end if;
        return new; end $$`);
      await o.query('create trigger test_refuse before update on messages for each row execute function test_refuse()');
    });
    try {
      sched = startScheduler(t.ctx, { leaseMs: LEASE_MS, retry: { baseDelayMs: 100, maxDelayMs: 400, maxAgeMs: 60_000 } });
      const others = ids.filter((id) => id !== poisoned);
      await until(async () => (await statuses(others)).every((m) => m.status === 'sent'), 30_000, 'every other message saved as sent', 100);
      // Past two leases: a refused send that kept its job would have been claimed and sent again.
      await new Promise((res) => setTimeout(res, 2.5 * LEASE_MS));
      assert.equal((await statuses([poisoned]))[0]!.status, 'queued', 'what could not be recorded is not recorded');
      assert.equal(cloud.requests('/messages').length, N, 'each sent once, the refused one too');
      const jobs = await t.asOwner((o) => o.query('select 1 from delivery_jobs where message_id = $1', [poisoned]));
      assert.equal(jobs.rowCount, 0, 'its job is gone, so it is never claimed again');
      assert.ok(t.logs.some((l) => l.includes('delivery results the database refused') && l.includes(poisoned)), 'the refused result is logged with its message');
    } finally {
      await sched?.stop(1000);
      sched = undefined;
      await t.asOwner((o) => o.query('drop trigger test_refuse on messages; drop function test_refuse(); drop table test_first_write'));
      await cloud.close();
    }
  });
});
