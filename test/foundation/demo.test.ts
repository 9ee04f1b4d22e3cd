import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createTestDatabase, TEST_APP_ROLE, type TestDatabase } from '../support/db.js';
import { BIN, cliEnv } from '../support/cli.js';
import { freePort } from '../../src/db/embedded.js';

/**
 * The newcomer's path from issue 3: `switchboard start --demo` prints an API key and a ready curl;
 * the message it sends reaches `read` on the built-in sandbox line, and the echo contact answers —
 * the whole loop (API → scheduler → sandbox → signed webhook → inbox → conversation) in one process.
 */
let db: TestDatabase;
let child: ChildProcess | undefined;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  child?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  await db.drop();
});

test('start --demo: the printed curl sends a message that is read and answered within a minute', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, [BIN, 'start', '--demo', '--port', String(port)], {
    env: cliEnv({ DATABASE_URL: db.ownerUrl, DB_APP_ROLE: TEST_APP_ROLE, MASTER_KEY: randomBytes(32).toString('base64'), PUBLIC_URL: base, LOG_LEVEL: 'warn' }),
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 60_000;
  while (!out.includes('Watch it:')) {
    assert.ok(Date.now() < deadline && child.exitCode === null, `start --demo did not come up: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const curl = /curl -s (\S+\/v1\/messages) -H 'Authorization: Bearer (sb_live_\w+)' -H 'Content-Type: application\/json' -d '([^']+)'/.exec(out);
  assert.ok(curl, `no ready curl in: ${out}`);
  const [, url, key, body] = curl;
  const started = Date.now();
  const sent = await fetch(url!, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
  assert.equal(sent.status, 202, await sent.clone().text());
  const { id, conversation_id } = (await sent.json()) as { id: string; conversation_id: string };
  const auth = { authorization: `Bearer ${key}` };
  let status = '';
  let inbound: { content: { text: string } }[] = [];
  while (Date.now() - started < 60_000) {
    status = ((await (await fetch(`${base}/v1/messages/${id}`, { headers: auth })).json()) as { status: string }).status;
    const msgs = (await (await fetch(`${base}/v1/conversations/${conversation_id}/messages`, { headers: auth })).json()) as { data: { direction: string; content: { text: string } }[] };
    inbound = msgs.data.filter((m) => m.direction === 'in');
    if (status === 'read' && inbound.length > 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(status, 'read', 'the demo message went sent → delivered → read');
  assert.match(inbound[0]?.content.text ?? '', /^Echo: Hello from Switchboard/);
  console.log(`demo: message read and answered ${Date.now() - started} ms after the curl`);
});
