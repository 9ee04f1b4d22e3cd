import { signBody } from './sim-payloads.js';

export interface SimWebhook {
  url: string;
  body: string;
  status: number | undefined;
  error?: string;
  at: number;
}

export type SignatureMode = 'valid' | 'invalid' | 'none';

/**
 * Posts the simulator's webhooks the way Meta does (JSON, `X-Hub-Signature-256` over the exact
 * bytes), records each with the answer it got, and tracks background deliveries so tests and
 * `close()` can wait for them.
 */
export class SimWebhookSender {
  readonly log: SimWebhook[] = [];
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly appSecret: string,
    private readonly defaultUrl: () => string | undefined,
  ) {}

  async post(
    payload: unknown,
    opts: { url?: string; signature?: SignatureMode } = {},
  ): Promise<{ status: number; text: string; body: string }> {
    const url = opts.url ?? this.defaultUrl();
    if (!url) throw new Error('no webhook URL configured');
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'facebookexternalua',
    };
    if (opts.signature !== 'none') {
      // 'invalid' signs different bytes, so the header is well-formed but wrong.
      headers['x-hub-signature-256'] = signBody(
        opts.signature === 'invalid' ? `${body} ` : body,
        this.appSecret,
      );
    }
    const rec: SimWebhook = { url, body, status: undefined, at: Date.now() };
    this.log.push(rec);
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      rec.status = res.status;
      return { status: res.status, text: await res.text(), body };
    } catch (err) {
      rec.error = String(err);
      throw err;
    }
  }

  /** Posts `payloads()` one after another, `delayMs` apart, in the background (order kept). */
  sequence(payloads: (() => unknown)[], delayMs: number): void {
    const run = async () => {
      for (const make of payloads) {
        await new Promise((r) => setTimeout(r, delayMs));
        if (this.stopped) return;
        await this.post(make()).catch(() => undefined); // recorded in the log; Meta would retry
      }
    };
    const p: Promise<void> = run().finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  async stop(): Promise<void> {
    await this.idle();
    this.stopped = true;
  }
}
