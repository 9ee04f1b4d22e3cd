// Entry of the inbound processing thread (decision 030). Its nice value first (`workerData.nice`,
// PROCESSING_THREAD_NICE in src/app/priority.ts): the thread starts with the main thread's (−5,
// decision 039), and loading the TypeScript loader and the processing code takes seconds on a busy
// machine. Refused (some containers; rarely for a positive value), the overload rule still applies.
import { setPriority } from 'node:os';
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

try {
  setPriority(workerData.nice);
} catch {
  // see above
}
// A worker thread does not inherit the TypeScript loader the main thread registered, so it
// registers its own before loading the code.
register();
await import('./inline-thread-main.ts');
