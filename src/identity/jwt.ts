import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '../core/errors.js';

/**
 * Tenant apps may authenticate with a signed JWT instead of an API key: HS256 with a shared secret
 * (JWT_SECRET) or any JWKS-published key (JWT_JWKS_URL). The tenant comes from the `tenant_id`
 * claim of a verified token; scopes from `scope` (space-separated, absent = all).
 */
export interface JwtVerifier {
  verify(token: string): Promise<{ tenantId: string; subject: string | undefined; scopes: string[] }>;
}

export function createJwtVerifier(opts: {
  secret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}): JwtVerifier | undefined {
  if (!opts.secret && !opts.jwksUrl) return undefined;
  const secret = opts.secret ? new TextEncoder().encode(opts.secret) : undefined;
  const jwks = opts.jwksUrl ? createRemoteJWKSet(new URL(opts.jwksUrl)) : undefined;
  const options = {
    ...(opts.issuer ? { issuer: opts.issuer } : {}),
    ...(opts.audience ? { audience: opts.audience } : {}),
    clockTolerance: 5,
  };
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        if (secret && !jwks) payload = (await jwtVerify(token, secret, { ...options, algorithms: ['HS256'] })).payload;
        else if (jwks && !secret) payload = (await jwtVerify(token, jwks, options)).payload;
        else {
          // Both configured: the token header says which; try the JWKS only for asymmetric algs.
          const alg = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')).alg;
          payload =
            alg === 'HS256'
              ? (await jwtVerify(token, secret!, { ...options, algorithms: ['HS256'] })).payload
              : (await jwtVerify(token, jwks!, options)).payload;
        }
      } catch (err) {
        throw new AppError('token_invalid', 'the JWT is invalid, expired or signed with an unknown key', { cause: err });
      }
      const tenantId = payload.tenant_id;
      if (typeof tenantId !== 'string' || !tenantId) throw new AppError('token_invalid', 'the JWT has no tenant_id claim');
      if (!payload.exp) throw new AppError('token_invalid', 'the JWT has no exp claim');
      // No claim: every scope (a token minted for the whole tenant). A space-separated string (RFC 8693)
      // or an array of strings (what several identity providers send) narrows it; anything else is
      // refused rather than read as "no claim" (it was: an array got every scope).
      const scope = scopesClaim(payload.scope);
      return { tenantId, subject: payload.sub, scopes: scope };
    },
  };
}

function scopesClaim(claim: unknown): string[] {
  if (claim === undefined) return ['*'];
  if (typeof claim === 'string') return claim.split(' ').filter(Boolean);
  if (Array.isArray(claim) && claim.every((c) => typeof c === 'string')) return claim.flatMap((c: string) => c.split(' ').filter(Boolean));
  throw new AppError('token_invalid', 'the JWT scope claim must be a space-separated string or an array of strings');
}
