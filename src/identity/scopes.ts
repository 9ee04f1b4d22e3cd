import type { Role } from '../db/schema.js';
import { AppError } from '../core/errors.js';

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

/**
 * The scopes a new API key gets when a credential holding `holder` asks for `requested`: a
 * credential hands on only what it holds (a key with keys:write alone cannot mint a `*` key, an
 * admin cannot mint tenant:write). Nothing requested: the holder's own scopes, `*` when it holds
 * every one (decision 041).
 */
/**
 * A member's role hands its holder the role's scopes (they sign in and act with them, or mint keys
 * with them), so granting a role is delegation too: only a credential holding every scope of the
 * role may grant it (decision 041, amended). A key limited to `members:write` made a user an admin
 * and through that user minted a key with every admin scope (review of 2026-12-01).
 */
export function assertRoleGrantable(holder: ReadonlySet<Scope>, role: Role): void {
  const missing = ROLE_SCOPES[role].filter((s) => !holder.has(s));
  if (missing.length > 0) {
    throw new AppError('insufficient_scope', `the role ${role} can be given only by a credential holding its scopes; this credential lacks ${missing.join(', ')}`, { details: { missing_scopes: missing } });
  }
}

export function grantableScopes(holder: ReadonlySet<Scope>, requested?: readonly string[]): string[] {
  const wanted = requested ?? (SCOPES.every((s) => holder.has(s)) ? ['*'] : SCOPES.filter((s) => holder.has(s)));
  const missing = [...expandScopes(wanted)].filter((s) => !holder.has(s));
  if (missing.length > 0) {
    throw new AppError('insufficient_scope', `a new key can hold only scopes its creator holds; this credential lacks ${missing.join(', ')}`, { details: { missing_scopes: missing } });
  }
  return [...wanted];
}
