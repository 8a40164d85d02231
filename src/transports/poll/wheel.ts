/**
 * Deadlines for many waiters on one interval: a hashed timer wheel with one
 * bucket per tick. Adding and removing are O(1); each tick expires one
 * bucket. The interval runs only while something waits, and never holds the
 * process open — 10,000 held polls cost one timer, not 10,000.
 */
export interface WheelEntry {
  /** The tick it expires on; -1 when not in the wheel. */
  wheelTick: number;
}

export class TimerWheel<T extends WheelEntry> {
  private readonly buckets = new Map<number, Set<T>>();
  private timer: NodeJS.Timeout | null = null;
  /** Every tick up to this one has been expired. */
  private swept: number;
  private size = 0;

  constructor(
    /** Resolution: an entry expires up to this much after its deadline. */
    private readonly tickMs: number,
    private readonly onExpire: (entry: T) => void,
  ) {
    this.swept = Math.floor(Date.now() / tickMs);
  }

  /** Expire `entry` `delayMs` from now. */
  add(entry: T, delayMs: number): void {
    const tick = Math.max(this.swept + 1, Math.ceil((Date.now() + delayMs) / this.tickMs));
    let bucket = this.buckets.get(tick);
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets.set(tick, bucket);
    }
    bucket.add(entry);
    entry.wheelTick = tick;
    if (this.size++ === 0) this.start();
  }

  remove(entry: T): void {
    const tick = entry.wheelTick;
    if (tick < 0) return;
    entry.wheelTick = -1;
    const bucket = this.buckets.get(tick);
    if (bucket === undefined || !bucket.delete(entry)) return;
    if (bucket.size === 0) this.buckets.delete(tick);
    if (--this.size === 0) this.stop();
  }

  get pending(): number {
    return this.size;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private start(): void {
    if (this.timer !== null) return;
    // Ticks that passed while nothing waited have nothing to expire.
    this.swept = Math.max(this.swept, Math.floor(Date.now() / this.tickMs));
    this.timer = setInterval(this.tickBound, this.tickMs);
    this.timer.unref();
  }

  private readonly tickBound = (): void => {
    const now = Math.floor(Date.now() / this.tickMs);
    while (this.swept < now) {
      const tick = ++this.swept;
      const bucket = this.buckets.get(tick);
      if (bucket === undefined) continue;
      this.buckets.delete(tick);
      for (const entry of bucket) {
        entry.wheelTick = -1;
        this.size--;
        this.onExpire(entry);
      }
    }
    if (this.size === 0) this.stop();
  };
}
