import type { Role } from '../db/schema.js';

/**
 * Scopes a credential can hold. API keys carry an explicit list (`*` = all); dashboard users get
 * the scopes of their role; JWTs carry them in the `scope` claim.
 */
export const SCOPES = [
  'tenant:read',
  'tenant:write',
  'channels:read',
  'channels:write',
  'keys:read',
  'keys:write',
  'members:read',
  'members:write',
  'audit:read',
  'messages:read',
  'messages:write',
  'conversations:read',
  'conversations:write',
  'webhooks:read',
  'webhooks:write',
  'usage:read',
] as const;
export type Scope = (typeof SCOPES)[number];

const READ = SCOPES.filter((s) => s.endsWith(':read'));

export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  owner: SCOPES,
  // Admins run the workspace but cannot change the tenant record (name, branding) or the owner.
  admin: SCOPES.filter((s) => s !== 'tenant:write'),
  agent: ['tenant:read', 'channels:read', 'messages:read', 'messages:write', 'conversations:read', 'conversations:write'],
  viewer: READ,
};

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

export function expandScopes(list: readonly string[]): Set<Scope> {
  return new Set(list.includes('*') ? SCOPES : list.filter(isScope));
}
