import { Type } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { actorOf } from '../audit/audit.js';
import { Branding, errorResponses, Limits, LimitsPatch, Name, Slug, Tenant } from '../http/schemas.js';
import { PageQuery, Page, decodeCursor, toPage } from '../http/pagination.js';
import { createTenant, deleteTenant, getTenantAsAdmin, listTenants, updateTenantAsAdmin } from './service.js';
import { createPlan, listPlans, updatePlan } from './plans.js';

const admin = { auth: 'admin' as const };
const TenantRef = Type.Object({ tenant: Type.String({ maxLength: 100, description: 'tenant id or slug' }) });
const Plan = Type.Object({
  id: Type.String(),
  name: Type.String(),
  messages_per_day: Type.Union([Type.Integer(), Type.Null()]),
  messages_per_month: Type.Union([Type.Integer(), Type.Null()]),
  max_channels: Type.Union([Type.Integer(), Type.Null()]),
  api_requests_per_minute: Type.Union([Type.Integer(), Type.Null()]),
});

export function adminTenantRoutes(app: App, ctx: AppContext): void {
  const tags = ['admin'];
  const security: Record<string, string[]>[] = [{ adminKey: [] }, { session: [] }];
  app.post('/admin/tenants', {
    config: admin,
    schema: {
      tags, security, summary: 'Create a tenant',
      body: Type.Object({ slug: Slug, name: Name, plan: Type.Optional(Type.String({ maxLength: 50 })), branding: Type.Optional(Branding), limits_override: Type.Optional(LimitsPatch) }, { additionalProperties: false }),
      response: { 201: Tenant, ...errorResponses },
    },
  }, async (req, reply) => reply.status(201).send(await createTenant(ctx, actorOf(req), req.body)));

  app.get('/admin/tenants', {
    config: admin,
    schema: { tags, security, summary: 'List tenants', querystring: Type.Object({ ...PageQuery, status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])) }), response: { 200: Page(Tenant), ...errorResponses } },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const rows = await listTenants(ctx, { limit, before: decodeCursor(req.query.cursor, 'ten'), status: req.query.status });
    return toPage(rows, limit, (r) => r);
  });

  app.get('/admin/tenants/:tenant', { config: admin, schema: { tags, security, summary: 'Get a tenant', params: TenantRef, response: { 200: Tenant, ...errorResponses } } },
    async (req) => getTenantAsAdmin(ctx, req.params.tenant));

  app.patch('/admin/tenants/:tenant', {
    config: admin,
    schema: {
      tags, security, summary: 'Update, suspend or reactivate a tenant, change its plan or overrides', params: TenantRef,
      body: Type.Object({ name: Type.Optional(Name), status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])), plan: Type.Optional(Type.String({ maxLength: 50 })), branding: Type.Optional(Branding), limits_override: Type.Optional(LimitsPatch) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: Tenant, ...errorResponses },
    },
  }, async (req) => updateTenantAsAdmin(ctx, actorOf(req), req.params.tenant, req.body));

  app.delete('/admin/tenants/:tenant', { config: admin, schema: { tags, security, summary: 'Delete a tenant and all its data', params: TenantRef, response: { 204: Type.Null(), ...errorResponses } } },
    async (req, reply) => {
      await deleteTenant(ctx, actorOf(req), req.params.tenant);
      return reply.status(204).send(null);
    });

  app.get('/admin/plans', { config: admin, schema: { tags, security, summary: 'List plans', response: { 200: Type.Object({ data: Type.Array(Plan) }), ...errorResponses } } },
    async () => ({ data: await listPlans(ctx) }));
  const PlanBody = Type.Object({ name: Name, ...Limits.properties }, { additionalProperties: false });
  // One object, not an intersection: each half of an allOf with additionalProperties false refuses the other's fields.
  const NewPlan = Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]{1,50}$' }), ...PlanBody.properties }, { additionalProperties: false });
  app.post('/admin/plans', { config: admin, schema: { tags, security, summary: 'Create a plan', body: NewPlan, response: { 201: Plan, ...errorResponses } } },
    async (req, reply) => reply.status(201).send(await createPlan(ctx, actorOf(req), req.body)));
  app.patch('/admin/plans/:plan', { config: admin, schema: { tags, security, summary: 'Update a plan', params: Type.Object({ plan: Type.String({ maxLength: 50 }) }), body: Type.Partial(PlanBody, { minProperties: 1 }), response: { 200: Plan, ...errorResponses } } },
    async (req) => updatePlan(ctx, actorOf(req), req.params.plan, req.body));
}
