import { Type } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import { tenantOf } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { bodyOf, errorResponses } from '../http/schemas.js';
import { allUsage, dayRange, tenantUsage, toCsv } from './usage.js';

const Day = Type.String({ format: 'date', description: 'YYYY-MM-DD (UTC day)' });
const Q = Type.Object({
  from: Type.Optional({ ...Day, description: 'First day, inclusive; default the first of the `to` month' }),
  to: Type.Optional({ ...Day, description: 'Last day, inclusive; default today' }),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'csv answers text/csv for spreadsheets and billing' })),
});
const Row = Type.Object({
  day: Type.String({ format: 'date' }),
  channel_id: Type.String(),
  direction: Type.Union([Type.Literal('in'), Type.Literal('out')]),
  type: Type.String(),
  outcome: Type.String(),
  count: Type.Integer(),
});
const AdminRow = Type.Composite([Type.Object({ tenant_id: Type.String() }), Row]);
const Usage = <T extends typeof Row | typeof AdminRow>(r: T) =>
  bodyOf('JSON; with `format=csv` a CSV download with the same columns, one row per line', {
    'application/json': Type.Object({ from: Type.String({ format: 'date' }), to: Type.String({ format: 'date' }), data: Type.Array(r) }),
    'text/csv': Type.String(),
  });

export function usageRoutes(app: App, ctx: AppContext): void {
  const tags = ['usage'];
  app.get('/v1/usage', { config: { scope: 'usage:read' }, schema: { tags, summary: 'Messages per UTC day by channel, direction, type and outcome', querystring: Q, response: { 200: Usage(Row), ...errorResponses } } },
    async (req, reply) => {
      const range = dayRange(req.query.from, req.query.to, ctx.clock.now());
      const data = await tenantUsage(ctx, tenantOf(req), range);
      if (req.query.format === 'csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="usage-${range.from}-${range.to}.csv"`).send(toCsv(data, false));
      return { ...range, data };
    });
  app.get('/admin/usage', { config: { auth: 'admin' }, schema: { tags, security: [{ adminKey: [] }, { session: [] }], summary: 'Usage of every tenant (superadmin)', querystring: Q, response: { 200: Usage(AdminRow), ...errorResponses } } },
    async (req, reply) => {
      const range = dayRange(req.query.from, req.query.to, ctx.clock.now());
      const data = await allUsage(ctx, range);
      if (req.query.format === 'csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="usage-${range.from}-${range.to}.csv"`).send(toCsv(data, true));
      return { ...range, data };
    });
}
