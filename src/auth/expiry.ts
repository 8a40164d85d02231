import type { Identity } from './permissions.js';

/** Anything whose identity may carry a token expiry (a WS or SSE connection). */
export interface Expiring {
  readonly identity: Identity;
}

/** How often the sweep looks for expired tokens. `exp` has one-second resolution: checking more often gains nothing. */
export const EXPIRY_SWEEP_MS = 1000;

/**
 * Ends connections whose token expired while they were open. One timer per
 * watch (not per connection), running only while some tracked connection has
 * an `exp`, unref'd so it never holds the process open. The identity is read
 * at sweep time, so a refreshed token (a new `identity`) moves the deadline
 * without any re-registration.
 *
 * @example
 *   const watch = new ExpiryWatch<WsConnection>((c) => c.close(4001, 'token expired'));
 *   watch.track(conn);   // on open, and again after a refresh
 *   watch.untrack(conn); // on close
 */
export class ExpiryWatch<T extends Expiring> {
  private readonly tracked = new Set<T>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly onExpired: (conn: T) => void,
    private readonly intervalMs = EXPIRY_SWEEP_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Watch `conn` if its identity expires; a no-op for tokens without `exp` (and with auth off). */
  track(conn: T): void {
    if (conn.identity.exp === null) {
      this.untrack(conn);
      return;
    }
    this.tracked.add(conn);
    if (this.timer === null) this.timer = setInterval(() => this.sweep(), this.intervalMs).unref();
  }

  untrack(conn: T): void {
    if (!this.tracked.delete(conn)) return;
    if (this.tracked.size === 0) this.stop();
  }

  get size(): number {
    return this.tracked.size;
  }

  /** Expire every connection whose `exp` has passed (jose's rule: expired once now ≥ exp). */
  sweep(): void {
    const nowSeconds = this.now() / 1000;
    for (const conn of this.tracked) {
      const exp = conn.identity.exp;
      if (exp === null) this.tracked.delete(conn);
      else if (exp <= nowSeconds) {
        this.tracked.delete(conn);
        this.onExpired(conn);
      }
    }
    if (this.tracked.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
