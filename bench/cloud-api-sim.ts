/**
 * The Cloud API simulator as a benchmark child process, so its HTTP work is not counted against
 * Switchboard's event loop. argv[2] = JSON { phones, firstId, rate }. Prints `PORT <n>`.
 * IPC: { cmd: 'sent' } → { sent, throttled }; { cmd: 'stats', rate } → also the busiest one-second
 * window of every number as a fraction of `rate`.
 */
import { createCloudApiSimulator } from '../src/providers/cloud-api/index.js';

const o = JSON.parse(process.argv[2] ?? '{}') as { phones: number; firstId: number; rate: number };
const sim = createCloudApiSimulator({
  phones: Array.from({ length: o.phones }, (_, i) => ({ phoneNumberId: String(o.firstId + i) })),
  throughputPerSecond: o.rate,
});
await sim.listen();
// The kit keeps every request for tests' assertions; a long benchmark only needs `sent`.
setInterval(() => sim.received.splice(0), 1000).unref();
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'sent') process.send!({ sent: sim.sent.length, throttled: sim.throttled });
  if (m.cmd === 'stats') {
    const ratios = sim.phones.map((p) => sim.maxMessagesPerSecond(p.phoneNumberId) / o.rate);
    process.send!({ sent: sim.sent.length, throttled: sim.throttled, maxRatio: Math.max(0, ...ratios), credentials: undefined });
  }
  if (m.cmd === 'credentials') process.send!({ credentials: sim.phones.map((_, i) => sim.credentials(i)) });
});
process.on('SIGTERM', () => void sim.close().then(() => process.exit(0)));
console.log(`PORT ${new URL(sim.url).port}`);
