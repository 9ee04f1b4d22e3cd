import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkEgress, isInternalAddress, type Resolve } from './egress.js';
import { AppError } from './errors.js';

const isDenied = (err: unknown) => err instanceof AppError && err.code === 'egress_denied';

describe('isInternalAddress', () => {
  const internal = [
    '127.0.0.1', '0.0.0.0', '0.1.2.3', '10.1.2.3', '100.64.0.1', '100.127.255.254', '169.254.169.254', '172.16.0.1', '172.31.255.255',
    '192.0.0.8', '192.0.2.1', '192.88.99.1', '192.168.1.1', '198.18.0.1', '198.51.100.7', '203.0.113.9', '224.0.0.1', '239.1.1.1', '240.0.0.1', '255.255.255.255',
    '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'febf::1', 'fec0::1', 'ff02::1', '100::1', '64:ff9b:1::a', '2001::1', '2001:db8::1', '3fff::1',
    // IPv4 written inside IPv6: mapped (as Node's URL parser rewrites it), translated, compatible, NAT64, 6to4.
    '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1', '::ffff:a9fe:a9fe', '::ffff:0:7f00:1', '::127.0.0.1', '::7f00:1', '::a00:1',
    '64:ff9b::7f00:1', '64:ff9b::a9fe:a9fe', '64:ff9b::10.0.0.1', '2002:7f00:1::', '2002:a9fe:a9fe::1', '2002:c0a8:101::',
    'not-an-ip', '',
  ];
  const pub = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '100.63.255.255', '100.128.0.1', '172.32.0.1', '192.0.3.1', '198.20.0.1', '223.255.255.255',
    '2606:4700:4700::1111', '2a00:1450:4001::200e', '::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::808:808', '2002:808:808::1', '2001:200::1'];
  for (const ip of internal) it(`internal: ${ip || '(empty)'}`, () => assert.equal(isInternalAddress(ip), true));
  for (const ip of pub) it(`public: ${ip}`, () => assert.equal(isInternalAddress(ip), false));
});

describe('checkEgress (save time)', () => {
  const noDns: Resolve = async () => {
    throw new Error('no DNS in this test');
  };
  it('refuses internal addresses in every URL spelling, with egress_denied', async () => {
    for (const url of [
      'http://[::ffff:127.0.0.1]:8080/x', 'http://[::ffff:169.254.169.254]/x', 'http://[0:0:0:0:0:ffff:127.0.0.1]/', 'http://[::127.0.0.1]/',
      'http://[64:ff9b::a9fe:a9fe]/', 'http://[64:ff9b::127.0.0.1]/', 'http://[2002:7f00:1::]/', 'http://[fec0::1]/', 'http://[ff02::1]/', 'http://[::]/',
      'http://0.0.0.0/', 'http://100.64.1.1/', 'http://2130706433/', 'http://0x7f.1/', 'http://127.1/', 'http://0177.0.0.1/',
    ]) {
      await assert.rejects(checkEgress(url, 'url', false, noDns), isDenied, url);
    }
  });
  it('refuses names that are localhost or resolve to any internal address', async () => {
    await assert.rejects(checkEgress('http://localhost./x', 'url', false, noDns), isDenied);
    await assert.rejects(checkEgress('http://api.localhost/x', 'url', false, noDns), isDenied);
    const mixed: Resolve = async () => [{ address: '93.184.216.34', family: 4 }, { address: '::ffff:a9fe:a9fe', family: 6 }];
    await assert.rejects(checkEgress('https://hooks.example/x', 'url', false, mixed), isDenied);
  });
  it('allows public addresses, and everything when the operator allows private ones', async () => {
    await checkEgress('https://hooks.example/x', 'url', false, async () => [{ address: '93.184.216.34', family: 4 }]);
    await checkEgress('http://[64:ff9b::808:808]/x', 'url', false, noDns);
    await checkEgress('http://[::ffff:127.0.0.1]/x', 'url', true, noDns);
  });
});

// The connect-time checks (lookup pinned to checked addresses, IP literals, no redirects) live in the
// HTTP transport and are tested there: src/core/http-transport.test.ts.
