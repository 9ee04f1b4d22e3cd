import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attachmentDisposition, mimeOf } from './media.js';

test('a media type a stranger wrote is served only when it is one header value (else as bytes)', () => {
  assert.equal(mimeOf('application/pdf'), 'application/pdf');
  assert.equal(mimeOf('text/plain; charset=utf-8'), 'text/plain; charset=utf-8');
  assert.equal(mimeOf('application/pdf;\r\nx=y'), 'application/octet-stream', 'CR/LF was a 500 (review of 2026-12-01)');
  assert.equal(mimeOf('application/pdf;\nx=y', 'image/png'), 'image/png', 'the next candidate');
  assert.equal(mimeOf(undefined, ''), 'application/octet-stream');
  assert.equal(mimeOf(`image/${'x'.repeat(300)}`), 'application/octet-stream');
});

test('Content-Disposition: always a download, the name escaped and encoded as RFC 6266/8187 ask, capped', () => {
  assert.equal(attachmentDisposition(undefined), 'attachment');
  assert.equal(attachmentDisposition('a "b"\\c.pdf'), `attachment; filename="a _b__c.pdf"; filename*=UTF-8''a%20%22b%22%5Cc.pdf`);
  assert.equal(attachmentDisposition("it's (final)*.pdf"), `attachment; filename="it's (final)*.pdf"; filename*=UTF-8''it%27s%20%28final%29%2A.pdf`);
  assert.equal(attachmentDisposition('Rechnung März.pdf'), `attachment; filename="Rechnung M_rz.pdf"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf`);
  const long = attachmentDisposition(`${'n'.repeat(500)}.pdf`);
  assert.ok(long.length < 500, `${long.length}`);
  assert.doesNotMatch(attachmentDisposition('x\r\ny.pdf'), /[\r\n]/);
});
