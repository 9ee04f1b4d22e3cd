import type { App } from './app.js';
import type { AppContext } from '../app/context.js';
import { adminTenantRoutes } from '../tenants/admin-routes.js';
import { tenantRoutes } from '../tenants/tenant-routes.js';
import { auditRoutes } from '../audit/routes.js';
import { apiKeyRoutes } from '../identity/key-routes.js';
import { authRoutes } from '../identity/auth-routes.js';
import { memberRoutes } from '../members/routes.js';
import { channelRoutes } from '../channels/routes.js';
import { sandboxRoutes } from '../channels/sandbox-routes.js';
import { sessionRoutes } from '../channels/session-routes.js';
import { metricsRoutes } from '../ops/metrics.js';
import { messageRoutes } from '../messages/routes.js';
import { inboundPipelineRoutes } from '../inbound/pipeline-routes.js';

/** Every feature's routes, in one list: a new feature adds one line. */
export async function registerRoutes(app: App, ctx: AppContext): Promise<void> {
  for (const register of [metricsRoutes, authRoutes, tenantRoutes, adminTenantRoutes, auditRoutes, apiKeyRoutes, memberRoutes, channelRoutes, sandboxRoutes, sessionRoutes, inboundPipelineRoutes, messageRoutes]) {
    register(app, ctx);
  }
}
