import type { App } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { inboundRoutes } from './routes.js';
import { conversationRoutes } from '../conversations/routes.js';
import { eventRoutes } from '../events/routes.js';

/** Webhook ingress, conversations/contacts/stats and tenant events: one entry in src/http/routes.ts. */
export function inboundPipelineRoutes(app: App, ctx: AppContext): void {
  inboundRoutes(app, ctx);
  conversationRoutes(app, ctx);
  eventRoutes(app, ctx);
}
