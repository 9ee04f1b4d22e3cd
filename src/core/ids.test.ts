import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encodeRandom, idFloor, isId, newId, ulid } from './ids.js';

const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** The straightforward 80-bit base32 encoding the fast one must match. */
function reference(bytes: Buffer): string {
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 16; i++) {
    out = B32[Number(bits & 31n)] + out;
    bits >>= 5n;
  }
  return out;
}

test('the random part encodes 80 bits exactly like the BigInt reference', () => {
  assert.equal(encodeRandom(Buffer.alloc(10, 0)), '0000000000000000');
  assert.equal(encodeRandom(Buffer.alloc(10, 0xff)), 'ZZZZZZZZZZZZZZZZ');
  for (let i = 0; i < 2000; i++) {
    const b = randomBytes(10);
    assert.equal(encodeRandom(b), reference(b));
  }
});

test('ids are well-formed and sort in creation order within a process', () => {
  const ids = Array.from({ length: 5000 }, () => newId('msg'));
  for (const id of ids) assert.ok(isId(id, 'msg'), id);
  assert.deepEqual([...ids].sort(), ids);
});

test('idFloor sorts after every id made before its millisecond and not after any made at or after it', () => {
  const at = Date.now();
  const floor = idFloor('evt', at);
  assert.ok(isId(floor, 'evt'), floor);
  assert.ok(idFloor('evt', at - 1) < floor && floor < idFloor('evt', at + 1));
  const made = newId('evt'); // made now, at or after `at`
  assert.ok(made >= floor, `${made} >= ${floor}`);
  assert.ok(idFloor('evt', Date.now() + 1) > made);
});

test('ids drawn across many milliseconds (several refills of the random pool) are distinct and sorted', () => {
  const start = Date.now() + 60_000; // later than any id made so far in this process
  const ids = Array.from({ length: 3000 }, (_, i) => ulid(start + Math.floor(i / 2)));
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
  // Each new millisecond draws fresh random bits: the random parts of consecutive milliseconds
  // are not one counter.
  const randomParts = new Set(ids.filter((_, i) => i % 2 === 0).map((id) => id.slice(10, 20)));
  assert.equal(randomParts.size, 1500);
});
