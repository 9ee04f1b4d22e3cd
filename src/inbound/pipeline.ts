import type { AppContext } from '../app/context.js';
import { InboxWriter } from './inbox.js';
import { InlineProcessor } from './normalise.js';

/**
 * One process's inbound pipeline: the acknowledge path's group-committing inbox writer and the
 * inline normaliser, which yields to it under load (decision 026). Shared by the webhook routes
 * and the inbox worker of the same context, so the worker also steps back while ingress is the
 * bottleneck. Created on first use (no import-time state); one per AppContext.
 */
export interface InboundPipeline {
  inbox: InboxWriter;
  inline: InlineProcessor;
}

const pipelines = new WeakMap<AppContext, InboundPipeline>();

export function inboundPipeline(ctx: AppContext): InboundPipeline {
  let p = pipelines.get(ctx);
  if (!p) {
    const inbox = new InboxWriter(ctx);
    p = { inbox, inline: new InlineProcessor(ctx, () => inbox.busy()) };
    pipelines.set(ctx, p);
  }
  return p;
}
