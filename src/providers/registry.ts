import { AppError } from '../core/errors.js';
import { cloudApiProvider } from './cloud-api/index.js';
import { wahaProvider } from './waha/index.js';
import { ultramsgProvider } from './ultramsg/index.js';
import { sandboxProvider } from './sandbox/index.js';
import type { ProviderAdapter, ProviderDefinition, ProviderDeps, ProviderId } from './types.js';

/** Adding a provider: one folder under src/providers/ and one line here. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const PROVIDERS: readonly ProviderDefinition<any>[] = [cloudApiProvider, wahaProvider, ultramsgProvider, sandboxProvider];

export interface ProviderRegistry {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  definition(id: string): ProviderDefinition<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  adapter(id: string): ProviderAdapter<any>;
  ids(): ProviderId[];
}

/** `overrides` give one provider different deps (the built-in sandbox's in-process fetch). */
export function createProviderRegistry(
  deps: ProviderDeps,
  defs = PROVIDERS,
  overrides: Partial<Record<ProviderId, Partial<ProviderDeps>>> = {},
): ProviderRegistry {
  const byId = new Map(defs.map((d) => [d.id as string, d]));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const adapters = new Map<string, ProviderAdapter<any>>();
  const definition = (id: string) => {
    const d = byId.get(id);
    if (!d) throw new AppError('validation_failed', `unknown provider "${id}"`);
    return d;
  };
  return {
    definition,
    adapter(id) {
      let a = adapters.get(id);
      if (!a) {
        a = definition(id).createAdapter({ ...deps, ...overrides[id as ProviderId], logger: deps.logger.child({ provider: id }) });
        adapters.set(id, a);
      }
      return a;
    },
    ids: () => defs.map((d) => d.id),
  };
}
