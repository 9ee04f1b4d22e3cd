/**
 * The Cloud API webhook over real HTTP, where Node's server answers it ahead of Fastify (decision
 * 036), against the same requests through Fastify (`inject()`): the same answers, the same rows.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { request } from 'node:http';
import { startTestApp, type TestApp } from '../support/app.js';
import { closeApp, cloudCreds, cloudPayload, drainAll, makeChannel, owner, sign } from './support.js';

interface Answer {
  status: number;
  type: string | undefined;
  retryAfter?: string;
  body: string;
}

describe('Cloud API webhook ahead of Fastify', () => {
  let t: TestApp;
  let tenant: { id: string; key: string };
  let port: number;
  before(async () => {
    t = await startTestApp({ BODY_LIMIT_BYTES: String(64 * 1024) });
    tenant = await t.tenant();
    await makeChannel(t, tenant.id, 'cloud-api', cloudCreds('777000111'));
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as { port: number }).port;
  });
  after(() => closeApp(t));

  const overHttp = (path: string, headers: Record<string, string>, body: string | Buffer, chunked = false): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: chunked ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const injected = async (path: string, headers: Record<string, string>, body: string | Buffer): Promise<Answer> => {
    const res = await t.app.inject({ method: 'POST', url: path, headers, payload: body });
    return { status: res.statusCode, type: res.headers['content-type'] as string | undefined, body: res.body };
  };
  const signed = (body: string) => ({ 'content-type': 'application/json', 'x-hub-signature-256': sign(body) });

  it('answers every case as the Fastify route does', async () => {
    const garbage = '{"entry": [';
    const unknownLine = cloudPayload([{ phoneNumberId: '999999999', from: '15550000001' }]);
    const cases: [string, Record<string, string>, string][] = [
      ['bad signature', { 'content-type': 'application/json', 'x-hub-signature-256': sign('other') }, cloudPayload([{ phoneNumberId: '777000111', from: '15550000002' }])],
      ['no signature', { 'content-type': 'application/json' }, cloudPayload([{ phoneNumberId: '777000111', from: '15550000003' }])],
      ['unknown line', signed(unknownLine), unknownLine],
      ['malformed JSON', signed(garbage), garbage],
      ['no line id', signed('{"object":"whatsapp_business_account","entry":[]}'), '{"object":"whatsapp_business_account","entry":[]}'],
      ['empty body', { 'content-type': 'application/json' }, ''],
      ['any content type', { 'content-type': 'text/plain' }, garbage],
    ];
    for (const [what, headers, body] of cases) {
      const viaHttp = await overHttp('/webhooks/cloud-api', headers, body);
      const viaFastify = await injected('/webhooks/cloud-api', headers, body);
      assert.deepEqual(viaHttp, viaFastify, what);
      assert.ok(viaHttp.status >= 400 && viaHttp.status < 500, `${what}: ${viaHttp.status}`);
      assert.equal(JSON.parse(viaHttp.body).instance, '/webhooks/cloud-api', what);
    }
    // A valid one: the same answer, and each a message of its own under the right tenant.
    const bodies = ['15550000011', '15550000012'].map((from) => cloudPayload([{ phoneNumberId: '777000111', from, id: `wamid.raw-${from}` }]));
    const viaHttp = await overHttp('/webhooks/cloud-api?from=meta', signed(bodies[0]!), bodies[0]!);
    const viaFastify = await injected('/webhooks/cloud-api', signed(bodies[1]!), bodies[1]!);
    assert.deepEqual(viaHttp, viaFastify);
    assert.deepEqual(JSON.parse(viaHttp.body), { ok: true, accepted: 1 });
    await drainAll(t);
    const msgs = await owner(t).selectFrom('messages').select(['tenant_id', 'provider_message_id', 'peer']).where('provider_message_id', 'like', 'wamid.raw-%').orderBy('provider_message_id').execute();
    assert.deepEqual(msgs, [
      { tenant_id: tenant.id, provider_message_id: 'wamid.raw-15550000011', peer: '+15550000011' },
      { tenant_id: tenant.id, provider_message_id: 'wamid.raw-15550000012', peer: '+15550000012' },
    ]);
    // Other methods and paths still reach Fastify.
    const verify = await new Promise<number>((resolve) => request({ host: '127.0.0.1', port, path: '/webhooks/cloud-api?hub.mode=subscribe&hub.verify_token=vt-777000111&hub.challenge=42' }, (res) => resolve(res.statusCode!)).end());
    assert.equal(verify, 200);
  });

  it('refuses a body over the limit, announced or streamed, and stores nothing', async () => {
    const big = cloudPayload([{ phoneNumberId: '777000111', from: '15550000021', id: 'wamid.too-big', text: 'x'.repeat(70 * 1024) }]);
    const announced = await overHttp('/webhooks/cloud-api', signed(big), big);
    assert.deepEqual(announced, await injected('/webhooks/cloud-api', signed(big), big));
    assert.equal(announced.status, 413);
    const streamed = await overHttp('/webhooks/cloud-api', { ...signed(big), 'transfer-encoding': 'chunked' }, big, true);
    assert.equal(streamed.status, 413);
    assert.equal(JSON.parse(streamed.body).code, 'payload_too_large');
    await drainAll(t);
    const stored = await owner(t).selectFrom('messages').select('id').where('provider_message_id', '=', 'wamid.too-big').execute();
    assert.equal(stored.length, 0);
  });

  it('logs each request it answers, and a client that goes away mid-body gets nothing stored', async () => {
    const body = cloudPayload([{ phoneNumberId: '777000111', from: '15550000031', id: 'wamid.half' }]);
    const beforeAbort = t.logs.length;
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(`POST /webhooks/cloud-api HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-hub-signature-256: ${sign(body)}\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 40)}`);
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    await drainAll(t);
    assert.equal((await owner(t).selectFrom('messages').select('id').where('provider_message_id', '=', 'wamid.half').execute()).length, 0);
    // The handler never saw the partial body: it would have refused it (bad signature) and said so.
    const duringAbort = t.logs.slice(beforeAbort).map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.ok(!duringAbort.includes('inbound webhook refused'), duringAbort.join(', '));

    type Line = { msg: string; reqId?: string; req?: { url: string }; res?: { statusCode: number } };
    const completed = async (headers: Record<string, string>): Promise<Line | undefined> => {
      const before = t.logs.length;
      await overHttp('/webhooks/cloud-api', headers, body);
      return t.logs.slice(before).map((l) => JSON.parse(l) as Line).find((l) => l.msg === 'request completed');
    };
    const line = await completed(signed(body));
    assert.equal(line?.req?.url, '/webhooks/cloud-api');
    assert.equal(line?.res?.statusCode, 200);
    assert.match(line?.reqId ?? '', /^req_[0-9a-z]+$/);
    // The caller's request id, as Fastify's routes log it.
    assert.equal((await completed({ ...signed(body), 'x-request-id': 'meta-7f3a' }))?.reqId, 'meta-7f3a');
  });
});

describe('a request never finished', () => {
  let t: TestApp;
  let port: number;
  let key: string;
  before(async () => {
    t = await startTestApp({ REQUEST_TIMEOUT_SECONDS: '1' });
    key = (await t.tenant()).key;
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as { port: number }).port;
  });
  after(() => closeApp(t));

  for (const path of ['/webhooks/cloud-api', '/v1/messages']) {
    it(`${path}: a client that sends part of its body and stops gets 408 and its connection closed`, async () => {
      const socket = connect(port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      let answer = '';
      socket.on('data', (c: Buffer) => (answer += c.toString()));
      const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
      const started = Date.now();
      socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer ${key}\r\ncontent-length: 1000\r\n\r\n{"object":`);
      const at = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 8_000))]);
      socket.destroy();
      assert.notEqual(at, -1, 'still open after 8 s');
      assert.ok(at - started >= 900, `closed after ${at - started} ms, before the timeout`);
      assert.match(answer, /^HTTP\/1\.1 408/);
    });
  }
});
