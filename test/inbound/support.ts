import http from 'node:http';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { newId } from '../../src/core/ids.js';
import { asTenantId, withTenant } from '../../src/db/db.js';
import { drainInbox } from '../../src/inbound/normalise.js';
import type { TestApp } from '../support/app.js';

/**
 * Inserts a channel directly (the API's create runs a live connection test against the provider;
 * ingress tests need only the row), sealing secrets exactly as src/channels/service.ts does.
 */
export async function makeChannel(t: TestApp, tenantId: string, provider: string, credentials: Record<string, unknown>): Promise<{ id: string; token: string; externalId: string }> {
  const def = t.ctx.providers.definition(provider);
  const id = newId('chn');
  const token = randomBytes(24).toString('base64url');
  const secretNames = new Set(def.credentials.fields.filter((f) => f.secret).map((f) => f.name));
  const secret = Object.fromEntries(Object.entries(credentials).filter(([k]) => secretNames.has(k)));
  const settings = Object.fromEntries(Object.entries(credentials).filter(([k]) => !secretNames.has(k)));
  const externalId = def.credentials.externalId(credentials);
  await withTenant(t.ctx.db, asTenantId(tenantId), (tx) =>
    tx.insertInto('channels').values({
      tenant_id: tenantId, id, name: `${provider} line`, provider, external_id: externalId,
      secrets_enc: t.ctx.vault.encrypt(JSON.stringify(secret), { tenantId, recordId: id }),
      settings: JSON.stringify(settings), webhook_token: token, rate_per_second: 10, burst: 10,
    } as never).execute(),
  );
  return { id, token, externalId };
}

export const APP_SECRET = 'app-secret-0123456789';

export function cloudCreds(phoneNumberId: string, appSecret = APP_SECRET) {
  return { phoneNumberId, wabaId: '100000001', accessToken: 'EAAG-test-token-123', appSecret, verifyToken: `vt-${phoneNumberId}` };
}

export interface CloudMsg {
  phoneNumberId: string;
  from: string;
  /** The provider's timestamp (Unix seconds; default now). */
  ts?: number;
  id?: string;
  text?: string;
  name?: string;
}

/** A Meta webhook body: one entry per line, one change per line, messages batched per change. */
export function cloudPayload(msgs: CloudMsg[], statuses: { phoneNumberId: string; id: string; status: string; recipient?: string; ts?: number }[] = []): string {
  const lines = [...new Set([...msgs.map((m) => m.phoneNumberId), ...statuses.map((s) => s.phoneNumberId)])];
  const ts = Math.floor(Date.now() / 1000);
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: lines.map((pn) => {
      const mine = msgs.filter((m) => m.phoneNumberId === pn);
      const st = statuses.filter((s) => s.phoneNumberId === pn);
      const value: Record<string, unknown> = { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001111', phone_number_id: pn } };
      if (mine.length > 0) {
        value.contacts = mine.map((m) => ({ wa_id: m.from, profile: { name: m.name ?? `Name ${m.from}` } }));
        value.messages = mine.map((m) => ({ from: m.from, id: m.id ?? `wamid.${randomBytes(12).toString('hex')}`, timestamp: String(m.ts ?? ts), type: 'text', text: { body: m.text ?? `hello from ${m.from}` } }));
      }
      if (st.length > 0) value.statuses = st.map((s) => ({ id: s.id, status: s.status, timestamp: String(s.ts ?? ts), recipient_id: s.recipient ?? '15551230000' }));
      return { id: 'WABA1', changes: [{ field: 'messages', value }] };
    }),
  });
}

export const sign = (body: string | Buffer, secret = APP_SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export function postCloud(t: TestApp, body: string | Buffer, signature: string | null = sign(body), contentType = 'application/json') {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return t.app.inject({ method: 'POST', url: '/webhooks/cloud-api', headers, payload: body });
}

/** Polls `ok` every 20 ms until it holds or `ms` pass, then asserts it (named `what`). */
export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok()) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.ok(await ok(), what);
}

/** Processes everything pending (inline processing may already have done part of it). */
export async function drainAll(t: TestApp): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const n = await drainInbox(t.ctx, 500, 0);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from inbox where status = 'pending'`.execute(owner(t));
    if (n === 0 && rows[0]!.n === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('inbox did not drain');
}

/**
 * Holds every normaliser transaction at its first write to `messages` (a table lock taken as the
 * owner) until `release()`: the inbox rows an acknowledged webhook committed can then be inspected
 * before processing deletes them.
 */
export async function holdProcessing(t: TestApp): Promise<() => Promise<void>> {
  const c = new pg.Client({ connectionString: t.testDb.ownerUrl });
  c.on('error', () => undefined); // as for owner(): only its queries' failures matter
  await c.connect();
  await c.query('begin');
  await c.query('lock table messages in share row exclusive mode');
  return async () => {
    await c.query('commit');
    await c.end();
  };
}

import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from '../../src/db/schema.js';
const owners = new WeakMap<TestApp, Kysely<DB>>();
/** Owner connection for assertions across tenants (the app role sees nothing without a tenant). */
export function owner(t: TestApp): Kysely<DB> {
  let k = owners.get(t);
  if (!k) {
    const pool = new pg.Pool({ connectionString: t.testDb.ownerUrl, max: 2 });
    // An idle assertion connection ended by the database's drop at teardown must not become an
    // uncaught exception (seen once in a full run: "terminating connection due to administrator
    // command" attributed to the first test that used it); a failing query still fails its test.
    pool.on('error', () => undefined);
    k = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    owners.set(t, k);
  }
  return k;
}
/** Closes the owner pool `owner(t)` opened (if any), then the app. */
export async function closeApp(t: TestApp): Promise<void> {
  await owners.get(t)?.destroy();
  owners.delete(t);
  await t.close();
}

export interface SseStream {
  /** Every event block received, in order (`data` is the parsed JSON; its `id` is checked against `id:`). */
  events: { id: string; type: string; data: { id: string; data: { provider_message_id?: string } } }[];
  ids: string[];
  ended: boolean;
  close(): void;
}

/**
 * A real Server-Sent Events client of GET /v1/events/stream over HTTP: resolves once the answer's
 * head arrives (rejects with `status N` when it is not 200) and parses `id:` / `event:` / `data:`
 * blocks as they come.
 */
export function sseClient(port: number, key: string, lastEventId?: string): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept: 'text/event-stream' };
    if (lastEventId) headers['last-event-id'] = lastEventId;
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/events/stream', headers }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      const s: SseStream = { events: [], ids: [], ended: false, close: () => req.destroy() };
      res.on('end', () => (s.ended = true));
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(block)?.[1];
          const [id, data] = [field('id'), field('data')];
          if (!id || !data) continue;
          const parsed = JSON.parse(data) as SseStream['events'][number]['data'];
          assert.equal(parsed.id, id);
          s.events.push({ id, type: field('event') ?? '', data: parsed });
          s.ids.push(id);
        }
      });
      res.on('error', () => undefined);
      resolve(s);
    });
    req.on('error', () => undefined);
  });
}

/** Posts a WAHA webhook body (`{event, session, engine, payload, …}`) to a channel's URL, signed with its HMAC key as WAHA signs. */
export function postWaha(t: TestApp, token: string, hmacKey: string, body: Record<string, unknown>) {
  const raw = JSON.stringify(body);
  const sig = createHmac('sha512', hmacKey).update(raw).digest('hex');
  return t.app.inject({ method: 'POST', url: `/webhooks/waha/${token}`, headers: { 'content-type': 'application/json', 'x-webhook-hmac': sig, 'x-webhook-hmac-algorithm': 'sha512' }, payload: raw });
}
