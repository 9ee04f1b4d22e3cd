/**
 * How fast this machine reads memory right now: nanoseconds a dependent random read over arrays of
 * 256 KB (within a core's L2), 4 MB (an L3's size) and 64 MB (main memory). On the shared 2-core VM
 * the benchmarks run on, a 4 MB set read at main-memory speed marks the "slow state" in which every
 * figure that walks memory (PostgreSQL, HTTP, the load generator) is about three times its usual
 * cost while a tight loop is not (docs/performance.md, 2026-12-01). `node --import tsx
 * bench/memory-probe.ts` prints it; bench/inbound.ts records it with each run.
 */
import { pathToFileURL } from 'node:url';

function nsPerRead(bytes: number, reads: number): number {
  const a = new Int32Array(bytes / 4);
  const mask = a.length - 1;
  // A multiplicative hash: each read's index depends on the last, so the reads cannot overlap.
  for (let i = 0; i < a.length; i++) a[i] = Math.imul(i, 0x9e3779b1) & mask;
  let x = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < reads; i++) x = a[(x + i) & mask]!;
  const ns = Number(process.hrtime.bigint() - t) / reads;
  return x < 0 ? -ns : ns; // uses x, so the loop is not optimised away (x is never negative)
}

export function memoryReadNs(): { kb256: number; mb4: number; mb64: number } {
  const round = (n: number) => Math.round(n * 10) / 10;
  return { kb256: round(nsPerRead(256 * 1024, 5e6)), mb4: round(nsPerRead(4 * 1024 * 1024, 2e6)), mb64: round(nsPerRead(64 * 1024 * 1024, 2e6)) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = memoryReadNs();
  console.log(`ns a dependent random read: 256 KB ${r.kb256}, 4 MB ${r.mb4}, 64 MB ${r.mb64}`);
}
