import type { AppContext } from './context.js';

/**
 * Runs `step` after `firstMs`, then `everyMs` after each run ends (never two at once); failures are
 * logged and the next run still happens. The stop function waits for a run in progress.
 */
export function periodic(ctx: AppContext, name: string, t: { firstMs: number; everyMs: number }, step: () => Promise<unknown>): () => Promise<void> {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = step()
      .catch((err) => ctx.logger.warn({ worker: name, err: (err as Error)?.message }, 'periodic worker step failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, t.everyMs);
      });
  };
  let timer = setTimeout(tick, t.firstMs);
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
