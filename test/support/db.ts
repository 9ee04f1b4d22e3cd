import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, appUrlFrom } from '../../src/db/migrate.js';
import { silentLogger } from '../../src/core/runtime.js';

/** The role tests connect as: a non-owner without BYPASSRLS, exactly like production. */
export const TEST_APP_ROLE = 'sb_test_app';

export function adminUrl(): string {
  const url = process.env.SB_TEST_ADMIN_URL ?? process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('run tests with `npm test` (it provides SB_TEST_ADMIN_URL)');
  return url;
}

export interface TestDatabase {
  name: string;
  ownerUrl: string;
  appUrl: string;
  drop(): Promise<void>;
}

/** A fresh, uniquely named, migrated database; `drop()` removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = adminUrl();
  const name = `sb_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`create database ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const ownerUrl = u.toString();
  await migrate(ownerUrl, { appRole: TEST_APP_ROLE, logger: silentLogger });
  return {
    name,
    ownerUrl,
    appUrl: appUrlFrom(ownerUrl, TEST_APP_ROLE, undefined),
    drop: async () => {
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`drop database if exists ${name} with (force)`);
      await d.end();
    },
  };
}
