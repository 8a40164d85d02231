/**
 * A rate per key, per node (chat posts per user, HTTP publishes per user or
 * client address): a token bucket per key. Buckets that have refilled
 * completely carry no information and are dropped when the map grows past
 * `maxKeys`, so memory stays bounded whatever the number of keys.
 */
export class KeyedRateLimit {
  private readonly perMs: number;
  private readonly burst: number;
  private readonly maxKeys: number;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(perSecond: number, burst: number, maxKeys = 10_000) {
    this.perMs = perSecond / 1000;
    this.burst = Math.max(1, burst);
    this.maxKeys = maxKeys;
  }

  /** Keys with a bucket right now (at most `maxKeys`). */
  get keys(): number {
    return this.buckets.size;
  }

  /** Take one token from `key`'s bucket: 0 when allowed, else milliseconds until the next one is. */
  take(key: string, now = Date.now()): number {
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) this.prune(now);
      this.buckets.set(key, (b = { tokens: this.burst, at: now }));
    } else {
      b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.perMs);
  }

  private prune(now: number): void {
    for (const [key, b] of this.buckets)
      if (b.tokens + (now - b.at) * this.perMs >= this.burst) this.buckets.delete(key);
    // Everyone is mid-burst: forget the oldest rather than grow without bound.
    if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
  }
}
