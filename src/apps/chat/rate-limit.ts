/**
 * Posts per user, per node: a token bucket per user id. Buckets that have
 * refilled completely carry no information and are dropped when the map grows
 * past `maxUsers`, so memory stays bounded whatever the number of users.
 */
export class UserRateLimit {
  private readonly perMs: number;
  private readonly burst: number;
  private readonly maxUsers: number;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(perSecond: number, burst: number, maxUsers = 10_000) {
    this.perMs = perSecond / 1000;
    this.burst = Math.max(1, burst);
    this.maxUsers = maxUsers;
  }

  /** Users with a bucket right now (at most `maxUsers`). */
  get users(): number {
    return this.buckets.size;
  }

  /** Take one post from `user`'s bucket: 0 when allowed, else milliseconds until the next one is. */
  take(user: string, now = Date.now()): number {
    let b = this.buckets.get(user);
    if (b === undefined) {
      if (this.buckets.size >= this.maxUsers) this.prune(now);
      this.buckets.set(user, (b = { tokens: this.burst, at: now }));
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
    for (const [user, b] of this.buckets)
      if (b.tokens + (now - b.at) * this.perMs >= this.burst) this.buckets.delete(user);
    // Everyone is mid-burst: forget the oldest rather than grow without bound.
    if (this.buckets.size >= this.maxUsers) this.buckets.delete(this.buckets.keys().next().value as string);
  }
}
