import type { AppContext } from '../app/context.js';
import { InboxWriter } from './inbox.js';
import { InlineProcessor } from './inline.js';

/**
 * How hot this process's webhook ingress is. HOT_INFLIGHT requests waiting for their answer is more
 * than the acknowledge path keeps waiting when it keeps up (it answers a group commit every 1-2 ms;
 * on the bench ~30 wait at its peak, under 10 at half of it); "hot" lasts CALM_MS after that was last
 * seen, so a brief dip does not let a long normaliser batch in.
 */
const HOT_INFLIGHT = 16;
const CALM_MS = 50;

export class IngressGauge {
  private inflight = 0;
  private hotAt = -Infinity;

  enter(): void {
    this.inflight += 1;
    if (this.inflight >= HOT_INFLIGHT) this.hotAt = performance.now();
  }

  leave(): void {
    this.inflight -= 1;
  }

  hot(): boolean {
    const now = performance.now();
    if (this.inflight >= HOT_INFLIGHT) this.hotAt = now;
    return now - this.hotAt < CALM_MS;
  }
}

/**
 * One process's inbound pipeline: the acknowledge path's group-committing inbox writer, the gauge
 * of its load, and the inline normaliser, which yields to it (decision 026). Shared by the webhook
 * routes and the inbox worker of the same context, so the worker also steps back while ingress is
 * hot. Created on first use (no import-time state); one per AppContext.
 */
export interface InboundPipeline {
  inbox: InboxWriter;
  ingress: IngressGauge;
  inline: InlineProcessor;
}

const pipelines = new WeakMap<AppContext, InboundPipeline>();

export function inboundPipeline(ctx: AppContext): InboundPipeline {
  let p = pipelines.get(ctx);
  if (!p) {
    const ingress = new IngressGauge();
    p = { inbox: new InboxWriter(ctx), ingress, inline: new InlineProcessor(ctx, () => ingress.hot()) };
    pipelines.set(ctx, p);
  }
  return p;
}
