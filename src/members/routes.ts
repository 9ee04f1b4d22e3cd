import { Type } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import { scopesOf, tenantOf } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { actorOf } from '../audit/audit.js';
import { errorResponses, IdParam } from '../http/schemas.js';
import { decodeCursor, Page, PageQuery, toPage } from '../http/pagination.js';
import { addMember, getMember, listMembers, removeMember, updateMember } from './service.js';

const RoleT = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('agent'), Type.Literal('viewer')]);
const Member = Type.Object({ user_id: Type.String(), email: Type.String(), name: Type.String(), role: RoleT, created_at: Type.String({ format: 'date-time' }) });

export function memberRoutes(app: App, ctx: AppContext): void {
  const tags = ['members'];
  app.get('/v1/members', { config: { scope: 'members:read' }, schema: { tags, summary: 'List dashboard members', querystring: Type.Object(PageQuery), response: { 200: Page(Member), ...errorResponses } } },
    async (req) => {
      const limit = req.query.limit ?? 50;
      return toPage(await listMembers(ctx, tenantOf(req), limit, decodeCursor(req.query.cursor, 'usr')), limit, ({ id: _id, ...m }) => m);
    });
  app.post('/v1/members', {
    config: { scope: 'members:write' },
    schema: { tags, summary: 'Add a member (creates the user when the e-mail is new)', body: Type.Object({ email: Type.String({ format: 'email', maxLength: 320 }), role: RoleT, name: Type.Optional(Type.String({ maxLength: 200 })), password: Type.Optional(Type.String({ minLength: 12, maxLength: 200 })) }, { additionalProperties: false }), response: { 201: Member, ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(await addMember(ctx, actorOf(req), tenantOf(req), req.body, scopesOf(req))));
  app.get('/v1/members/:userId', { config: { scope: 'members:read' }, schema: { tags, summary: 'Get a member', params: IdParam('userId', 'usr'), response: { 200: Member, ...errorResponses } } },
    async (req) => getMember(ctx, tenantOf(req), req.params.userId));
  app.patch('/v1/members/:userId', { config: { scope: 'members:write' }, schema: { tags, summary: "Change a member's role", params: IdParam('userId', 'usr'), body: Type.Object({ role: RoleT }, { additionalProperties: false }), response: { 200: Member, ...errorResponses } } },
    async (req) => updateMember(ctx, actorOf(req), tenantOf(req), req.params.userId, req.body.role, scopesOf(req)));
  app.delete('/v1/members/:userId', { config: { scope: 'members:write' }, schema: { tags, summary: 'Remove a member', params: IdParam('userId', 'usr'), response: { 204: Type.Null(), ...errorResponses } } },
    async (req, reply) => {
      await removeMember(ctx, actorOf(req), tenantOf(req), req.params.userId, scopesOf(req).has('tenant:write'));
      return reply.status(204).send(null);
    });
}
