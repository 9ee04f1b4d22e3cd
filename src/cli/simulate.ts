import type { Command } from './main.js';
import { args, portArg, UsageError } from './io.js';

/** `switchboard simulate <provider> --port N`: a provider simulator for local development. */
export const simulate: Command = async (_config, argv) => {
  const { values, positionals } = args(argv, { port: { type: 'string' }, 'webhook-url': { type: 'string' } });
  const port = portArg(values.port, 0);
  const provider = positionals[0];
  const { startSimulator } = await import('../providers/simulators.js');
  if (!provider || !['cloud-api', 'waha', 'ultramsg', 'sandbox'].includes(provider)) throw new UsageError(`name a provider: cloud-api, waha, ultramsg or sandbox${provider ? ` (got ${provider})` : ''}`);
  const { url, describe } = await startSimulator(provider, port, values['webhook-url']);
  process.stdout.write(`${provider} simulator listening on ${url}\n${describe}\n`);
  await new Promise(() => undefined);
};
