import { test } from 'node:test';
import assert from 'node:assert/strict';
import { libraryE164, NANP, normalizeAddress, parseAddress, toChatId } from './address.js';

test('North American numbers skip libphonenumber and get its answer: every area code, random subscribers', () => {
  let checked = 0;
  for (let npa = 0; npa <= 999; npa++) {
    for (let k = 0; k < 3; k++) {
      const digits = `1${String(npa).padStart(3, '0')}${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
      assert.ok(NANP.test(digits), digits);
      // The library's own answer (what the fast path replaces) and the one parseAddress gives.
      assert.equal(normalizeAddress(digits), libraryE164(digits), digits);
      assert.equal(normalizeAddress(`+${digits}`), libraryE164(digits), digits);
      checked++;
    }
  }
  assert.equal(checked, 3000);
});

test('numbers outside +1 and ten digits still go through libphonenumber', () => {
  // Not NANP-shaped: +1 with nine or eleven digits, and other countries (Mexico's WhatsApp 521 form: its own test below).
  for (const digits of ['1555123456', '155512345678', '447700900123', '919876543210', '5511987654321']) {
    assert.ok(!NANP.test(digits), digits);
    assert.equal(normalizeAddress(digits), libraryE164(digits), digits);
  }
  // The library refuses impossible lengths; so does the address.
  assert.equal(libraryE164('4477'), null);
  assert.equal(normalizeAddress('+4477'), null);
  assert.deepEqual(parseAddress('16505551234@c.us'), { kind: 'phone', value: '+16505551234' });
});

test("Mexican mobiles as WhatsApp names them (521 + ten digits) are phone addresses that round-trip to the same WhatsApp id", () => {
  for (const input of ['5215512345678@c.us', '5215512345678@s.whatsapp.net', '5215512345678', '+5215512345678']) {
    assert.equal(normalizeAddress(input), '+5215512345678', input);
  }
  assert.equal(toChatId('+5215512345678'), '5215512345678@c.us');
  // The form without the 1 stays what libphonenumber says it is.
  assert.equal(normalizeAddress('525512345678'), '+525512345678');
  // Not a blanket pass: other impossible numbers are still refused.
  assert.equal(normalizeAddress('52155123456789'), null);
});
