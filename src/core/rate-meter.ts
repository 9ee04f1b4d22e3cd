/** Events per second over a sliding window (the previous window's count fades out as the current one fills). */
export class RateMeter {
  private cur = 0;
  private prev = 0;
  private start = performance.now();
  constructor(private readonly windowMs = 1_000) {}

  add(n: number, now = performance.now()): void {
    this.roll(now);
    this.cur += n;
  }

  perSecond(now = performance.now()): number {
    this.roll(now);
    const covered = Math.min(1, (now - this.start) / this.windowMs);
    return ((this.prev * (1 - covered) + this.cur) * 1000) / this.windowMs;
  }

  private roll(now: number): void {
    const windows = Math.floor((now - this.start) / this.windowMs);
    if (windows < 1) return;
    this.prev = windows === 1 ? this.cur : 0;
    this.cur = 0;
    this.start += windows * this.windowMs;
  }
}
