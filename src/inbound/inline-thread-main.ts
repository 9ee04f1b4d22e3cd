import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../core/config.js';
import { createAppContext, createLogger } from '../app/root.js';
import { InlineProcessor } from './inline.js';
import { BurstProbe } from './burst.js';
import type { InboxItem } from './normalise.js';
import { IngressGauge, type GaugeShare } from './pipeline.js';
import { NONE, OLDEST_AT, PUBLISH_MS, sharedNow, STEPS_BACK } from './inline-thread.js';

/**
 * The processing thread's side of decision 030 (started by `ThreadedInline`, src/inbound/inline-thread.ts):
 * its own AppContext (database pool of POOL_SIZE connections), the main thread's ingress gauge read
 * from shared memory, and the same `InlineProcessor` the main thread would run, with the burst probe
 * (decision 031) reading the gauge's count of answered requests every PUBLISH_MS.
 */
const POOL_SIZE = 4;

interface Data {
  config: Omit<Config, 'masterKey' | 'previousMasterKeys'> & { masterKey: string | undefined; previousMasterKeys: string[] };
  appUrl: string;
  gauge: GaugeShare;
  state: SharedArrayBuffer;
}

type Incoming = { type: 'rows'; rows: (Omit<InboxItem, 'body'> & { body: Uint8Array })[] } | { type: 'idle'; n: number } | { type: 'close' };

const data = workerData as Data;
const port = parentPort!;
const config: Config = {
  ...data.config,
  dbPoolSize: Math.min(POOL_SIZE, data.config.dbPoolSize),
  masterKey: data.config.masterKey === undefined ? undefined : Buffer.from(data.config.masterKey, 'base64'),
  previousMasterKeys: data.config.previousMasterKeys.map((k) => Buffer.from(k, 'base64')),
};
const logger = createLogger(config).child({ thread: 'inbound' });
const { ctx, close } = createAppContext({ config, appUrl: data.appUrl, logger, onPoolError: (err) => logger.warn({ err: err.message }, 'database connection lost') });
const gauge = new IngressGauge(data.gauge);
const rates = (r: { before: number; during: number }) => ({ answers_per_s_before: r.before, answers_per_s_paused: r.during });
const probe = new BurstProbe(() => gauge.answered, () => gauge.hot(), {
  onBurst: (bursting, r) => logger.info(rates(r), bursting
    ? 'webhooks are answered faster while processing pauses: processing yields to ingress (decision 031)'
    : 'webhook ingress no longer held back by processing: processing runs freely'),
  onProbe: (bursting, r) => logger.debug({ ...rates(r), bursting }, 'inbound burst probe'),
});
const inline = new InlineProcessor(ctx, (withinMs) => gauge.hot(withinMs), () => gauge.saturated(), probe);
const state = new Int32Array(data.state);

function publish(): void {
  Atomics.store(state, STEPS_BACK, inline.stepsBack() ? 1 : 0);
  const wait = inline.oldestWaitMs();
  Atomics.store(state, OLDEST_AT, Number.isFinite(wait) ? Math.round(sharedNow() - data.gauge.base - wait) : NONE);
}
const timer = setInterval(() => {
  probe.tick();
  publish();
}, PUBLISH_MS);

port.on('message', (m: Incoming) => {
  if (m.type === 'rows') {
    inline.kick(m.rows.map((r) => ({ ...r, body: Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength) })));
    publish();
  } else if (m.type === 'idle') {
    void inline.idle().then(() => port.postMessage({ type: 'idle', n: m.n }));
  } else if (m.type === 'close') {
    clearInterval(timer);
    void inline
      .idle()
      .then(close)
      .catch((err: unknown) => logger.warn({ err: (err as Error)?.message }, 'closing the inbound processing thread'))
      .finally(() => port.close());
  }
});
