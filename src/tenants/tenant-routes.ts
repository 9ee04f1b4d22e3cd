import { Type } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import { tenantOf } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { actorOf } from '../audit/audit.js';
import { Branding, errorResponses, Name, Tenant } from '../http/schemas.js';
import { brandingForSlug, getOwnTenant, updateOwnTenant } from './service.js';
import { notFound } from '../core/errors.js';

export function tenantRoutes(app: App, ctx: AppContext): void {
  app.get('/v1/tenant', { config: { scope: 'tenant:read' }, schema: { tags: ['tenant'], summary: 'The calling tenant, with its plan limits', response: { 200: Tenant, ...errorResponses } } },
    async (req) => getOwnTenant(ctx, tenantOf(req)));
  app.patch('/v1/tenant', {
    config: { scope: 'tenant:write' },
    schema: { tags: ['tenant'], summary: "Update the tenant's name or branding", body: Type.Object({ name: Type.Optional(Name), branding: Type.Optional(Branding) }, { additionalProperties: false, minProperties: 1 }), response: { 200: Tenant, ...errorResponses } },
  }, async (req) => updateOwnTenant(ctx, actorOf(req), tenantOf(req), req.body));

  // Branding for the login page of `<slug>.<BASE_DOMAIN>`. Public, and grants no access.
  app.get('/public/branding', {
    config: { auth: 'public' },
    schema: { tags: ['auth'], summary: 'Branding for the login page of a tenant subdomain', querystring: Type.Object({ slug: Type.Optional(Type.String({ maxLength: 63 })) }), response: { 200: Type.Object({ slug: Type.String(), name: Type.String(), branding: Branding }), 404: Type.Ref('Problem') } },
  }, async (req) => {
    const slug = req.query.slug ?? subdomainOf(req.hostname, ctx.config.baseDomain);
    const b = slug ? await brandingForSlug(ctx, slug) : null;
    if (!b) throw notFound('tenant');
    return b;
  });
}

export function subdomainOf(hostname: string, baseDomain: string | undefined): string | undefined {
  if (!baseDomain) return undefined;
  const host = hostname.split(':')[0]!.toLowerCase();
  const suffix = `.${baseDomain.toLowerCase()}`;
  return host.endsWith(suffix) ? host.slice(0, -suffix.length) || undefined : undefined;
}
