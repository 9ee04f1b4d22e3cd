import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../../src/core/errors.js';

test('every error code is documented in docs/errors.md with its status', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const missing: string[] = [];
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
    if (!row) missing.push(code);
    else assert.ok(row.includes(`| ${info.status} |`), `docs/errors.md gives ${code} a status other than ${info.status}`);
  }
  assert.deepEqual(missing, [], `undocumented error codes: ${missing.join(', ')}`);
});
