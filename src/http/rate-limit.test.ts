import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppContext } from '../app/context.js';
import { systemClock } from '../core/runtime.js';
import { LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS, LoginLimiter } from './rate-limit.js';

const ctx = { clock: systemClock } as unknown as AppContext;

test('sign-in limit per client address: many accounts from one address are refused past the limit; another address is not', async () => {
  const limiter = new LoginLimiter();
  for (let i = 0; i < LOGIN_PER_ADDRESS; i++) await limiter.check(ctx, `user${i}@example.test`, '203.0.113.7');
  await assert.rejects(limiter.check(ctx, 'one-more@example.test', '203.0.113.7'), { code: 'rate_limited' });
  await limiter.check(ctx, 'one-more@example.test', '198.51.100.1');
});

test('sign-in limit per account: one address from many client addresses is refused past the limit', async () => {
  const limiter = new LoginLimiter();
  for (let i = 0; i < LOGIN_PER_ACCOUNT; i++) await limiter.check(ctx, 'target@example.test', `198.51.100.${i}`);
  await assert.rejects(limiter.check(ctx, 'Target@Example.test', '198.51.100.200'), { code: 'rate_limited' });
});

test('without Redis, a spray of 200,000 other e-mails does not reset the count of the account under attack (review of 2026-12-01)', async () => {
  const fixed = { clock: { now: () => new Date(1_700_000_000_000) } } as unknown as AppContext;
  const limiter = new LoginLimiter();
  let allowed = 0;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < LOGIN_PER_ACCOUNT + 2; i++) {
      try {
        await limiter.check(fixed, 'owner@victim.example', `2001:db8::${round}:${i}`);
        allowed += 1;
      } catch {
        // refused: over the limit
      }
    }
    // Junk e-mails from one address: refused by the per-address limit, yet each counted under its e-mail.
    for (let i = 0; i < 200_000; i++) await limiter.check(fixed, `junk${round}-${i}@x.example`, '203.0.113.9').catch(() => undefined);
  }
  assert.equal(allowed, LOGIN_PER_ACCOUNT);
});
