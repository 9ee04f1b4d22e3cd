import type { Worker } from '../app/workers.js';
import { startScheduler } from './scheduler.js';

/** `switchboard work` / `start`: the outbound delivery loop with production defaults. */
export const deliveryWorker: Worker = {
  name: 'delivery',
  start(ctx) {
    const s = startScheduler(ctx);
    return () => s.stop();
  },
};
