import type { TestApp } from './app.js';

/**
 * Ids of tenant resources, keyed by the path-parameter name the API uses for them, for the
 * cross-tenant test. A feature that adds a route with a new path parameter adds its fixture here.
 * `base` holds ids already made (channelId, keyId, userId).
 */
export async function tenantResourceFixtures(
  _t: TestApp,
  _owner: { key: string },
  _base: Record<string, string>,
): Promise<Record<string, string>> {
  return {};
}
