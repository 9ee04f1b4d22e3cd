import type { App } from '../http/app.js';
import type { AppContext } from '../app/context.js';
import { rejectCounts } from '../inbound/inbox.js';

/**
 * Prometheus metrics in the text exposition format, without a client library: a handful of
 * process-local counters. Labels never carry tenant ids or routing keys (a scrape must not become a
 * cross-tenant channel); per-tenant numbers are in the API (`/v1/stats`, `/v1/usage`). The endpoint
 * takes a superadmin credential (Prometheus: `authorization: { credentials: sb_admin_… }`).
 */
const httpRequests = new Map<string, number>();
const startedAt = Date.now();

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function counter(name: string, help: string, series: [Record<string, string>, number][]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} counter`];
  for (const [labels, value] of series) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
    lines.push(`${name}${l ? `{${l}}` : ''} ${value}`);
  }
  return lines.join('\n');
}

export function renderMetrics(): string {
  const http = [...httpRequests].map(([k, v]): [Record<string, string>, number] => {
    const [method, route, status] = k.split(' ');
    return [{ method: method!, route: route!, status: status! }, v];
  });
  const rejects = [...rejectCounts].map(([k, v]): [Record<string, string>, number] => {
    const [provider, reason] = k.split(':');
    return [{ provider: provider!, reason: reason! }, v];
  });
  return [
    counter('switchboard_http_requests_total', 'HTTP requests answered, by route template and status.', http),
    counter('switchboard_inbound_rejects_total', 'Provider webhooks refused (unroutable, bad signature, malformed, disabled line).', rejects),
    `# HELP switchboard_process_uptime_seconds Seconds since this process started.\n# TYPE switchboard_process_uptime_seconds gauge\nswitchboard_process_uptime_seconds ${Math.round((Date.now() - startedAt) / 1000)}`,
  ].join('\n\n') + '\n';
}

export function metricsRoutes(app: App, _ctx: AppContext): void {
  app.addHook('onResponse', async (req, reply) => {
    // The route template, never the concrete URL: ids and webhook tokens stay out of label values.
    const route = req.routeOptions.url ?? 'unmatched';
    const key = `${req.method} ${route} ${reply.statusCode}`;
    httpRequests.set(key, (httpRequests.get(key) ?? 0) + 1);
  });
  app.get('/metrics', { config: { auth: 'admin' }, schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/plain; version=0.0.4').send(renderMetrics()));
}
