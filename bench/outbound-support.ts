/** Pieces of `npm run bench:outbound` (bench/outbound.ts): load generator and figures. */
import http from 'node:http';

export interface LoadResult {
  requests: number;
  ok: number;
  seconds: number;
  latenciesMs: number[];
}

/** Keeps `concurrency` requests in flight for `ms`, over keep-alive connections. */
export async function hammer(url: string, headers: Record<string, string>, body: () => string, concurrency: number, ms: number, okStatus: number): Promise<LoadResult> {
  const u = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const lat: number[] = [];
  let ok = 0;
  let requests = 0;
  const end = Date.now() + ms;
  const t0 = Date.now();
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const payload = body();
      const start = performance.now();
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            requests += 1;
            if (res.statusCode === okStatus) {
              ok += 1;
              lat.push(performance.now() - start);
            }
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) await one();
    }),
  );
  agent.destroy();
  return { requests, ok, seconds: (Date.now() - t0) / 1000, latenciesMs: lat };
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
