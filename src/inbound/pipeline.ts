import type { AppContext } from '../app/context.js';
import { InboxWriter } from './inbox.js';
import { InlineProcessor } from './inline.js';

/**
 * How hot this process's webhook ingress is: HOT_INFLIGHT or more requests waiting for their answer
 * (on the bench ~30–60 wait at saturation, and also ~35 at 4,000/s, so hot alone does not mean
 * overloaded — the inline processor decides that with its own rates, decision 028); "hot" lasts
 * CALM_MS after that was last seen, so a brief dip does not let a long normaliser batch in.
 */
const HOT_INFLIGHT = 16;
const CALM_MS = 50;

export class IngressGauge {
  private open = 0;
  private hotAt = -Infinity;

  enter(): void {
    this.open += 1;
    if (this.open >= HOT_INFLIGHT) this.hotAt = performance.now();
  }

  leave(): void {
    this.open -= 1;
  }

  /** Webhook requests received and not yet closed. */
  get inflight(): number {
    return this.open;
  }

  hot(): boolean {
    const now = performance.now();
    if (this.open >= HOT_INFLIGHT) this.hotAt = now;
    return now - this.hotAt < CALM_MS;
  }
}

/**
 * One process's inbound pipeline: the acknowledge path's group-committing inbox writer, the gauge
 * of its load, and the inline normaliser, which yields to it (decision 026). Shared by the webhook
 * routes and the inbox worker of the same context, so the worker steps back when the processor does
 * (src/inbound/worker.ts). Created on first use (no import-time state); one per AppContext.
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
