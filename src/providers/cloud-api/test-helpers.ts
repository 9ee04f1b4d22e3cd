/** Shared plumbing for the Cloud API tests (not a test file itself). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { fixtureBytes } from '../../../test/support/fixtures.js';
import type { InboundEvent } from '../../core/canonical.js';
import { ProviderError } from '../../core/errors.js';
import { silentLogger, systemClock } from '../../core/runtime.js';
import { cloudApiWebhook } from './webhook.js';
import type { ProviderDeps, RawWebhook } from '../types.js';
import { createHttpTransport } from '../../core/http-transport.js';

const transport = createHttpTransport();

/**
 * Provider deps as production wires them: the node:http transport, `fetch` for multipart uploads.
 * Generous timeout: tests run beside other suites on a loaded machine; only timeout tests shorten it.
 */
export function deps(timeoutMs = 15_000): ProviderDeps {
  return { fetch: globalThis.fetch, request: transport.request, logger: silentLogger, clock: systemClock, timeoutMs };
}

export function rawOf(body: string | Buffer, headers: Record<string, string | undefined> = {}): RawWebhook {
  return { headers, body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), query: {} };
}

/** A real HTTP endpoint standing in for Switchboard's webhook ingress. */
export class Receiver {
  readonly hits: { headers: Record<string, string | undefined>; body: Buffer }[] = [];
  status = 200;
  private server: http.Server | undefined;
  url = '';

  async listen(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        this.hits.push({ headers, body: Buffer.concat(chunks) });
        res.writeHead(this.status).end('ok');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/cloud-api`;
    return this.url;
  }

  async waitFor(n: number, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.hits.length < n) {
      if (Date.now() > until) throw new Error(`expected ${n} webhooks, got ${this.hits.length}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export const F = 'whatsapp-cloud' as const;
export const LINE = '106540352242922';
/** The line of Meta's own examples (fixtures use this phone_number_id and WABA). */
export const FIXTURE_PHONE = { phoneNumberId: LINE, wabaId: '419561257915477', displayPhoneNumber: '+1 805-555-0172' };

export function parseFixture(name: string): InboundEvent[] {
  const r = cloudApiWebhook.parse(rawOf(fixtureBytes(F, name)));
  assert.equal(r.ok, true, `${name} should parse`);
  return r.ok ? r.events : [];
}

export function parseJson(payload: unknown): InboundEvent[] {
  const r = cloudApiWebhook.parse(rawOf(JSON.stringify(payload)));
  assert.ok(r.ok, 'payload should parse');
  return r.events;
}

export function only<K extends InboundEvent['kind']>(
  events: InboundEvent[],
  kind: K,
): Extract<InboundEvent, { kind: K }> {
  assert.equal(events.length, 1, `expected exactly one event, got ${events.length}`);
  const [e] = events;
  assert.equal(e!.kind, kind);
  return e as Extract<InboundEvent, { kind: K }>;
}

/** A one-change payload around `value` (the envelope of every Meta example). */
export function wrap(
  value: Record<string, unknown>,
  phoneNumberId = LINE,
  wabaId = '419561257915477',
): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: wabaId,
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
              ...value,
            },
            field: 'messages',
          },
        ],
      },
    ],
  };
}

export const msg = (extra: Record<string, unknown>) => ({
  from: '16505551234',
  id: `wamid.${Math.random().toString(36).slice(2)}`,
  timestamp: '1750000000',
  ...extra,
});
export const contentOf = (m: Record<string, unknown>, contacts?: unknown[]) =>
  only(
    parseJson(
      wrap({
        contacts: contacts ?? [{ profile: { name: 'Sheena Nelson' }, wa_id: '16505551234' }],
        messages: [msg(m)],
      }),
    ),
    'message.received',
  ).content;

/** Awaits a promise expected to fail with a typed ProviderError of this kind. */
export async function rejects(p: Promise<unknown>, kind: string, retryable: boolean): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected ProviderError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.equal(err.retryable, retryable);
    return err;
  }
  assert.fail(`expected a ${kind} failure`);
}
