import { createCloudApiSimulator } from './cloud-api/index.js';
import { createWahaSimulator } from './waha/index.js';
import { createUltramsgSimulator } from './ultramsg/index.js';
import { createSandboxServer } from './sandbox/index.js';

/**
 * `switchboard simulate <provider>`: each simulator with development defaults and a ready line, so a
 * developer can point a channel at it with the printed credentials. Webhooks (statuses, inbound) go
 * to `--webhook-url` when given (the channel's webhook_url).
 */
export interface RunningSimulator {
  url: string;
  /** What to paste into `channels add --credentials`. */
  credentials: Record<string, string> | undefined;
  describe: string;
  close(): Promise<void>;
}

const describe = (credentials: Record<string, string>) => `credentials: ${JSON.stringify(credentials)}`;

export async function startSimulator(provider: string, port: number, webhookUrl?: string): Promise<RunningSimulator> {
  switch (provider) {
    case 'cloud-api': {
      const sim = createCloudApiSimulator({ webhookUrl, statusWebhooks: Boolean(webhookUrl) });
      const url = await sim.listen(port);
      const p = sim.phones[0]!;
      const credentials = { phoneNumberId: p.phoneNumberId, wabaId: p.wabaId, accessToken: p.accessToken, appSecret: sim.appSecret, verifyToken: 'dev-verify', graphBaseUrl: url };
      return { url, credentials, describe: describe(credentials), close: () => sim.close() };
    }
    case 'waha': {
      const sim = createWahaSimulator({ apiKey: 'dev-waha-key' });
      const url = await sim.listen(port);
      // A ready line: session `default` created and paired (WORKING), as after scanning the QR code.
      const res = await fetch(`${url}/api/sessions`, { method: 'POST', headers: { 'x-api-key': 'dev-waha-key', 'content-type': 'application/json' }, body: JSON.stringify({ name: 'default' }) });
      if (res.status !== 201) throw new Error(`WAHA simulator: session create answered ${res.status}`);
      for (let i = 0; i < 100 && sim.session('default').status !== 'SCAN_QR_CODE'; i++) await new Promise((r) => setTimeout(r, 10));
      sim.pair('default');
      const credentials = { baseUrl: url, apiKey: 'dev-waha-key', sessionName: 'default', webhookHmacKey: 'dev-hmac-key-0123456789' };
      return { url, credentials, describe: describe(credentials), close: () => sim.close() };
    }
    case 'ultramsg': {
      const sim = createUltramsgSimulator({ instances: [{ instanceId: 'instance1150', token: 'dev-ultramsg-token' }], webhookUrl });
      const url = await sim.listen(port);
      const credentials = { instanceId: 'instance1150', token: 'dev-ultramsg-token', baseUrl: url };
      return { url, credentials, describe: describe(credentials), close: () => sim.close() };
    }
    case 'sandbox': {
      const sim = createSandboxServer({ webhookUrlFor: () => webhookUrl });
      const url = await sim.listen(port);
      const credentials = { baseUrl: url, lineId: 'sandbox-dev', secret: 'dev-sandbox-secret-0123456789' };
      return { url, credentials, describe: `${describe(credentials)} (any lineId and secret register on first use)`, close: () => sim.close() };
    }
    default:
      throw new Error(`no simulator for "${provider}"; choose cloud-api, waha, ultramsg or sandbox`);
  }
}
