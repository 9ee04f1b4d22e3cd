import net from 'node:net';

/** The machine's Redis (CI's machine runs one): tests of shared counters use it. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * `false` where Redis answers, or in CI (which has one: there a missing Redis must fail the tests);
 * elsewhere a reason to skip.
 */
export async function skipWithoutRedis(): Promise<string | false> {
  const u = new URL(TEST_REDIS_URL);
  const answers = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 6379) }, () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
  return answers || process.env.CI ? false : `no Redis at ${TEST_REDIS_URL} (CI runs these)`;
}
