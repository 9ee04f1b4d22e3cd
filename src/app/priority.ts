// The scheduling priority of the thread that answers HTTP — webhooks and the API — in the `start`
// and `serve` roles (decision 039). On Linux the nice value is a per-thread attribute, and
// `setPriority` without a pid sets the calling thread's, so this raises the main thread only: the
// inbound processing thread (nice 10, decision 030), PostgreSQL's backends and everything else keep
// theirs. When the cores are busy, a webhook's acknowledgement then waits less behind the process's
// own background work (processing's JavaScript, V8's helpers). Not behind PostgreSQL's: the server
// makes each backend a session, and with Linux autogroups each session is a scheduling group of its
// own, which a thread's nice value does not reach (decision 039's amendment). A negative nice value
// needs privilege (CAP_SYS_NICE, or RLIMIT_NICE ≥ 20 − nice, e.g. systemd's `LimitNICE=-5`);
// without it Switchboard runs as before and says so once.
import { getPriority, setPriority } from 'node:os';
import type { Logger } from 'pino';
import type { Check } from '../db/rls-check.js';

/**
 * The inbound processing thread's nice value (decision 030). When the cores are all busy the kernel
 * gives the threads that answer webhooks and API calls first claim on them, and processing — which
 * drives its PostgreSQL work, so that slows down with it — takes what is left: ingress first under
 * overload (decision 028) without a rule to tune. On an idle core it changes nothing. Passed in the
 * thread's workerData and set by its entry (src/inbound/inline-thread-entry.mjs) before it loads
 * anything else: the thread starts with the main thread's −5, and its code takes seconds to load on
 * a busy machine.
 */
export const PROCESSING_THREAD_NICE = 10;

export interface ThreadPriority {
  get(): number;
  set(nice: number): void;
}

const callingThread: ThreadPriority = { get: () => getPriority(), set: (nice) => setPriority(nice) };

export type PriorityOutcome = { applied: boolean; nice: number; reason?: string };

const HOW = 'needs CAP_SYS_NICE (Docker: --cap-add SYS_NICE) or RLIMIT_NICE (systemd: LimitNICE=<nice>)';

/** Sets the thread's nice value; returns why not (the error's code) when refused, else undefined. */
function trySetNice(nice: number, thread: ThreadPriority = callingThread): string | undefined {
  try {
    thread.set(nice);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

/**
 * Sets the calling thread's nice value to `nice`; on refusal leaves it as it was and logs why, at
 * `refusedLevel` (`start` uses info in production, debug in development: a laptop's first run has
 * no use for a line about CAP_SYS_NICE, and `switchboard doctor` says it too).
 */
export function setHttpThreadNice(nice: number, logger: Logger, thread: ThreadPriority = callingThread, refusedLevel: 'info' | 'debug' = 'info'): PriorityOutcome {
  const before = thread.get();
  if (nice === before) return { applied: true, nice };
  const reason = trySetNice(nice, thread);
  if (reason === undefined) {
    logger.debug({ nice, before }, 'HTTP thread priority set');
    return { applied: true, nice };
  }
  logger[refusedLevel]({ nice: before, asked: nice, reason }, `HTTP thread priority left at nice ${before}: nice ${nice} ${HOW} (HTTP_THREAD_NICE=0 asks for nothing)`);
  return { applied: false, nice: before, reason };
}

/**
 * `switchboard doctor`: whether this process may give its HTTP thread the configured nice value —
 * tried on the doctor's own thread and put back (raising a nice value again is always allowed).
 */
export function httpThreadNiceCheck(nice: number, thread: ThreadPriority = callingThread): Check {
  const name = 'HTTP thread priority';
  const before = thread.get();
  if (nice === before) return { name, ok: true, detail: `nice ${nice} (HTTP_THREAD_NICE)` };
  const reason = trySetNice(nice, thread);
  if (reason !== undefined) {
    return { name, ok: true, warn: true, detail: `nice ${nice} not permitted here (${reason}): the thread answering webhooks stays at nice ${before} and waits behind background work when the cores are busy; it ${HOW}` };
  }
  trySetNice(before, thread); // a nice value can always be raised again; nothing to undo if not
  return { name, ok: true, detail: `nice ${nice} permitted (HTTP_THREAD_NICE): webhooks are answered ahead of background work` };
}
