import { createCloudApiSimulator } from './cloud-api/index.js';
import { createWahaSimulator } from './waha/index.js';
import { createUltramsgSimulator } from './ultramsg/index.js';
import { createSandboxServer } from './sandbox/index.js';

/**
 * `switchboard simulate <provider>`: each simulator with development defaults, so a developer can
 * point a channel at it. Webhooks go to the local Switchboard when SIM_WEBHOOK_URL is given.
 */
export async function startSimulator(provider: string, port: number, webhookUrl?: string): Promise<{ url: string; describe: string }> {
  switch (provider) {
    case 'cloud-api': {
      const sim = createCloudApiSimulator({ webhookUrl, statusWebhooks: Boolean(webhookUrl) });
      const url = await sim.listen(port);
      const p = sim.phones[0]!;
      return { url, describe: `credentials: {"phoneNumberId":"${p.phoneNumberId}","wabaId":"${p.wabaId}","accessToken":"${p.accessToken}","appSecret":"${sim.appSecret}","verifyToken":"dev-verify","graphBaseUrl":"${url}"}` };
    }
    case 'waha': {
      const sim = createWahaSimulator({ apiKey: 'dev-waha-key' });
      const url = await sim.listen(port);
      return { url, describe: `credentials: {"baseUrl":"${url}","apiKey":"dev-waha-key","sessionName":"default","webhookHmacKey":"dev-hmac-key-0123456789"}` };
    }
    case 'ultramsg': {
      const sim = createUltramsgSimulator({ instances: [{ instanceId: 'instance1150', token: 'dev-ultramsg-token' }], webhookUrl });
      const url = await sim.listen(port);
      return { url, describe: `credentials: {"instanceId":"instance1150","token":"dev-ultramsg-token","baseUrl":"${url}"}` };
    }
    case 'sandbox': {
      const sim = createSandboxServer({ webhookUrlFor: () => webhookUrl });
      const url = await sim.listen(port);
      return { url, describe: 'sandbox lines register on first use with any lineId and secret' };
    }
    default:
      throw new Error(`no simulator for "${provider}"; choose cloud-api, waha, ultramsg or sandbox`);
  }
}
