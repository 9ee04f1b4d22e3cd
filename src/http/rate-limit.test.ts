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
