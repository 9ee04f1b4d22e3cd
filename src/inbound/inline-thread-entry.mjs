// Entry of the inbound processing thread (decision 030): a worker thread does not inherit the
// TypeScript loader the main thread registered, so it registers its own before loading the code.
import { register } from 'tsx/esm/api';

register();
await import('./inline-thread-main.ts');
