import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** `../shared/contracts` beside the repository (CI places it there); overridable for odd layouts. */
export const CONTRACTS_DIR =
  process.env.SB_CONTRACTS_DIR ?? fileURLToPath(new URL('../../../shared/contracts/', import.meta.url));

export type FixtureProvider = 'whatsapp-cloud' | 'waha' | 'ultramsg' | 'genesys';

/** Raw bytes of a fixture, e.g. `fixtureBytes('waha', 'webhook_message_ack.json')`. */
export function fixtureBytes(provider: FixtureProvider, name: string): Buffer {
  return readFileSync(join(CONTRACTS_DIR, 'fixtures', provider, name));
}

export function fixtureJson<T = unknown>(provider: FixtureProvider, name: string): T {
  return JSON.parse(fixtureBytes(provider, name).toString('utf8')) as T;
}

/** Every `.json` fixture of a provider, so a test can prove none is left unexercised. */
export function fixtureNames(provider: FixtureProvider): string[] {
  return readdirSync(join(CONTRACTS_DIR, 'fixtures', provider)).filter((n) => n.endsWith('.json')).sort();
}
