import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { App } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { AppError } from '../core/errors.js';
import { errorResponses } from '../http/schemas.js';
import { createSession, SESSION_COOKIE, SESSION_TTL_MS } from './authenticate.js';
import { dummyHash, verifyPassword } from './passwords.js';
import { findUserByEmail } from '../members/service.js';
import { subdomainOf } from '../tenants/tenant-routes.js';
import { LoginLimiter } from '../http/rate-limit.js';

export function authRoutes(app: App, ctx: AppContext): void {
  const tags = ['auth'];
  const limiter = new LoginLimiter();
  app.post('/auth/login', {
    config: { auth: 'public' },
    schema: {
      tags,
      summary: 'Sign in to the dashboard (sets an httpOnly session cookie; returns the CSRF token)',
      description: 'The tenant is the one named by `tenant` (slug) or the subdomain, and only if the user is a member of it. Superadmins sign in without a tenant.',
      body: Type.Object({ email: Type.String({ maxLength: 320 }), password: Type.String({ maxLength: 200 }), tenant: Type.Optional(Type.String({ maxLength: 63 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ user_id: Type.String(), tenant_id: Type.Union([Type.String(), Type.Null()]), superadmin: Type.Boolean(), csrf_token: Type.String(), expires_at: Type.String({ format: 'date-time' }) }), ...errorResponses },
    },
  }, async (req, reply) => {
    await limiter.check(ctx, req.body.email, req.ip);
    const user = await findUserByEmail(ctx, req.body.email);
    const ok = await verifyPassword(req.body.password, user?.password_hash ?? (await dummyHash()));
    if (!user || !ok) throw new AppError('invalid_credentials', 'wrong e-mail or password');
    const slug = req.body.tenant ?? subdomainOf(req.hostname, ctx.config.baseDomain);
    let tenantId: string | null = null;
    if (slug) {
      // Membership is checked inside the tenant's own RLS scope, after resolving the slug.
      const { rows } = await sql<{ id: string; status: string }>`select * from sb_tenant_for_member(${slug}, ${user.id})`.execute(ctx.db);
      const t = rows[0];
      if (!t) throw new AppError('invalid_credentials', 'wrong e-mail or password');
      if (t.status !== 'active') throw new AppError('tenant_suspended');
      tenantId = t.id;
    } else if (!user.is_superadmin) {
      throw new AppError('validation_failed', 'name the tenant to sign in to (`tenant` or its subdomain)');
    }
    const s = await createSession(ctx, { userId: user.id, tenantId, superadmin: tenantId === null });
    reply.setCookie(SESSION_COOKIE, s.token, { httpOnly: true, sameSite: 'lax', secure: ctx.config.cookieSecure, path: '/', maxAge: SESSION_TTL_MS / 1000 });
    return { user_id: user.id, tenant_id: tenantId, superadmin: tenantId === null, csrf_token: s.csrfToken, expires_at: s.expiresAt.toISOString() };
  });

  app.post('/auth/logout', { config: { auth: 'public' }, schema: { tags, summary: 'Sign out (ends the session)', response: { 204: Type.Null() } } }, async (req, reply) => {
    const token = req.cookies?.[SESSION_COOKIE];
    if (token) {
      await ctx.db.deleteFrom('dashboard_sessions').where('token_hash', '=', createHash('sha256').update(token).digest()).execute();
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.status(204).send(null);
  });
}
