import type { Config } from '../core/config.js';

/** The base URL providers and browsers reach this deployment at. */
export function publicBaseUrl(config: Pick<Config, 'publicUrl' | 'port'>): string {
  return (config.publicUrl ?? `http://localhost:${config.port}`).replace(/\/+$/, '');
}
