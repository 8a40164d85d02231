/** A connection that a sweep visits; `sweepDue` is the sweep's own field. */
export interface Swept {
  /** Date.now() from which the next visit is due. */
  sweepDue: number;
}

/**
 * A periodic duty per connection — the WS keepalive ping, the SSE heartbeat —
 * spread over its interval instead of done for every connection at once.
 * Done at once, 10,000 connections cost ~50 ms of writes every interval (and,
 * for WS, as many pongs to read right after), a stall that every event
 * published meanwhile waits behind. Here each connection is visited once per
 * interval on its own phase (random from its first visit), checked every
 * 1/20 of the interval.
 */
export class SpreadSweep<C extends Swept> {
  readonly tickMs: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly intervalMs: number,
    private readonly connections: () => Iterable<C>,
    private readonly visit: (conn: C) => void,
  ) {
    this.tickMs = Math.max(20, Math.min(1000, Math.floor(intervalMs / 20)));
    this.timer = setInterval(() => this.sweep(), this.tickMs).unref();
  }

  /**
   * When a new connection is first due: a random point of the second half of the interval — a
   * connection that just completed its handshake needs no check yet, and a burst of connections
   * (after a restart) is spread over half an interval instead of visited in one tick.
   */
  firstDue(): number {
    const half = this.intervalMs / 2;
    return Date.now() + half + Math.random() * Math.max(0, half - this.tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sweep(): void {
    const now = Date.now();
    for (const conn of this.connections()) {
      if (conn.sweepDue > now) continue;
      // Visits happen on ticks, so a connection is visited within one tick after it is due:
      // due again one tick early keeps the period at most `intervalMs` (SSE: "at least every 15 s").
      conn.sweepDue = now + this.intervalMs - this.tickMs;
      this.visit(conn);
    }
  }
}
