import { randomBytes } from 'node:crypto';
import { hmac } from '../../core/signatures.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, type WireEvent, type WireWebhook } from './protocol.js';

/**
 * Posts signed sandbox webhooks: `X-Sandbox-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.
 * A failed post (non-2xx or network error) is retried after each of `retryDelaysMs`, like real
 * providers do; the same bytes are re-sent so the signature and event ids stay stable for dedupe.
 */

export interface DeliveryRecord {
  lineId: string;
  url: string | undefined;
  body: string;
  /** Last HTTP status, `error` (network) or `no_url` (webhookUrlFor gave nothing). */
  outcome: number | 'error' | 'no_url';
  attempts: number;
}

export interface DeliveryOptions {
  fetch: typeof fetch;
  webhookUrlFor(lineId: string): string | undefined | Promise<string | undefined>;
  retryDelaysMs: number[];
  sleep(ms: number): Promise<void>;
  /** How many records `log` keeps (the sandbox runs for days inside Switchboard). */
  keep?: number;
}

export const newId = (prefix: string): string => `${prefix}_${Date.now().toString(36)}${randomBytes(8).toString('hex')}`;

export function signSandboxBody(secret: string, body: string | Buffer): string {
  return `sha256=${hmac('sha256', secret, body, 'hex')}`;
}

export function createDelivery(opts: DeliveryOptions) {
  const log: DeliveryRecord[] = [];
  const keep = opts.keep ?? 500;

  async function post(url: string, body: string, secret: string, eventId: string): Promise<number | 'error'> {
    try {
      const res = await opts.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signSandboxBody(secret, body), [EVENT_ID_HEADER]: eventId, 'user-agent': 'Switchboard-Sandbox/1' },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status;
    } catch {
      return 'error';
    }
  }

  /** Delivers one event (as a batch of one); resolves once delivered or out of retries. */
  async function deliver(lineId: string, secret: string, event: WireEvent): Promise<DeliveryRecord> {
    const payload: WireWebhook = { lineId, events: [event] };
    const body = JSON.stringify(payload);
    const url = await opts.webhookUrlFor(lineId);
    const record: DeliveryRecord = { lineId, url, body, outcome: 'no_url', attempts: 0 };
    if (url) {
      for (let attempt = 0; ; attempt++) {
        record.attempts++;
        record.outcome = await post(url, body, secret, event.id);
        const ok = typeof record.outcome === 'number' && record.outcome >= 200 && record.outcome < 300;
        const wait = opts.retryDelaysMs[attempt];
        if (ok || wait === undefined) break;
        await opts.sleep(wait);
      }
    }
    log.push(record);
    if (log.length > keep) log.splice(0, log.length - keep);
    return record;
  }

  return { deliver, log };
}
