import type { Command } from './main.js';
import { args, UsageError } from './io.js';

/** `switchboard simulate <provider> --port N`: a provider simulator for local development. */
export const simulate: Command = async (_config, argv) => {
  const { values, positionals } = args(argv, { port: { type: 'string' }, 'webhook-url': { type: 'string' } });
  const port = Number(values.port ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number (got ${values.port})`);
  const provider = positionals[0];
  const { startSimulator } = await import('../providers/simulators.js');
  if (!provider || !['cloud-api', 'waha', 'ultramsg', 'sandbox'].includes(provider)) throw new UsageError(`name a provider: cloud-api, waha, ultramsg or sandbox${provider ? ` (got ${provider})` : ''}`);
  const { url, describe } = await startSimulator(provider, port, values['webhook-url']);
  process.stdout.write(`${provider} simulator listening on ${url}\n${describe}\n`);
  await new Promise(() => undefined);
};
