/**
 * A DNS server for tests on 127.0.0.1 (UDP): answers A queries for the names in `zone`, NXDOMAIN
 * for others, and — `silent` — nothing at all (a server that swallows queries). Every question is
 * logged as `name TYPE`. Only what the resolver under test sends: one question, no compression in it.
 */
import dgram from 'node:dgram';

export interface TestDns {
  /** `127.0.0.1:port`, as EGRESS_DNS_SERVERS takes it. */
  server: string;
  queries: string[];
  close(): Promise<void>;
}

export async function startTestDns(opts: { zone?: Record<string, string>; silent?: boolean } = {}): Promise<TestDns> {
  const sock = dgram.createSocket('udp4');
  const queries: string[] = [];
  sock.on('message', (msg, from) => {
    let off = 12;
    const labels: string[] = [];
    while (off < msg.length && msg[off] !== 0) {
      labels.push(msg.subarray(off + 1, off + 1 + msg[off]!).toString('latin1'));
      off += msg[off]! + 1;
    }
    const name = labels.join('.').toLowerCase();
    const type = msg.readUInt16BE(off + 1);
    const questionEnd = off + 5;
    queries.push(`${name} ${type === 1 ? 'A' : type === 28 ? 'AAAA' : type}`);
    if (opts.silent) return;
    const address = opts.zone?.[name];
    const answers: Buffer[] = [];
    if (address && type === 1) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // the question's name
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(4, 10);
      address.split('.').forEach((b, i) => rr.writeUInt8(Number(b), 12 + i));
      answers.push(rr);
    }
    const head = Buffer.from(msg.subarray(0, 12));
    head.writeUInt16BE(0x8180 | (address ? 0 : 3), 2); // a response, recursion available; NXDOMAIN when unknown
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(answers.length, 6);
    head.writeUInt32BE(0, 8);
    sock.send(Buffer.concat([head, msg.subarray(12, questionEnd), ...answers]), from.port, from.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return {
    server: `127.0.0.1:${sock.address().port}`,
    queries,
    close: () => new Promise((r) => sock.close(() => r())),
  };
}
