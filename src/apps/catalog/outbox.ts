import type { Logger } from '../../logger.js';

export interface OutboxEntry {
  readonly seq: number;
  readonly id: string;
  readonly body: Buffer;
  /** Ordering key (the product id): entries of one key are never in flight together. */
  readonly key: string | number | undefined;
  attempts: number;
}

export interface OutboxOptions {
  /** Publish one message; resolves on broker confirm. */
  send: (body: Buffer) => Promise<void>;
  logger: Logger;
  /** Entries held (unsent + in flight + awaiting retry); `add` refuses past it. */
  maxPending?: number;
  /** Publishes awaiting confirm at once. */
  window?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  onConfirmed?: (entry: OutboxEntry) => void;
}

const DEFAULTS = { maxPending: 10_000, window: 256, retryInitialMs: 250, retryMaxMs: 5_000 };

export interface OutboxStats {
  /** Entries published at least once. */
  sent: number;
  confirmed: number;
  /** Publish attempts that failed (each is retried). */
  failed: number;
  /** Held now, not yet confirmed. */
  pending: number;
}

/**
 * A bounded buffer of messages retried until the broker confirms them, in
 * order. On any failure it stops sending, lets what is in flight settle,
 * then resends the failures (oldest first) before anything newer (a resend
 * whose confirm was merely lost arrives twice; consumers dedupe by id).
 *
 * Failures are not always a suffix of what was in flight: publishes that
 * waited in the driver during an outage go out on the new connection while
 * older ones, written to the dead one, fail. So messages that share a key
 * (a product) are sent one at a time: the next waits for the previous
 * confirm, and per-key order holds across any failure.
 */
export class Outbox {
  private readonly send: (body: Buffer) => Promise<void>;
  private readonly logger: Logger;
  private readonly opts: typeof DEFAULTS;
  private readonly onConfirmed?: (entry: OutboxEntry) => void;
  private queue: OutboxEntry[] = [];
  private failedRound: OutboxEntry[] = [];
  private readonly inFlight = new Set<OutboxEntry>();
  /** Keys with an entry sent and not yet confirmed (in flight or failed awaiting resend). */
  private readonly busy = new Set<string | number>();
  private seq = 0;
  private paused = false;
  private rounds = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private idleWaiters: Array<(flushed: boolean) => void> = [];
  private readonly _stats = { sent: 0, confirmed: 0, failed: 0 };

  constructor(options: OutboxOptions) {
    this.send = options.send;
    this.logger = options.logger;
    this.onConfirmed = options.onConfirmed;
    this.opts = {
      maxPending: options.maxPending ?? DEFAULTS.maxPending,
      window: options.window ?? DEFAULTS.window,
      retryInitialMs: options.retryInitialMs ?? DEFAULTS.retryInitialMs,
      retryMaxMs: options.retryMaxMs ?? DEFAULTS.retryMaxMs,
    };
  }

  get pending(): number {
    return this.queue.length + this.failedRound.length + this.inFlight.size;
  }

  stats(): OutboxStats {
    return { ...this._stats, pending: this.pending };
  }

  /** True when `add` would accept a message now. */
  hasRoom(): boolean {
    return !this.closed && this.pending < this.opts.maxPending;
  }

  /** Queue a message; false (nothing queued) when the buffer is full or closed. */
  add(id: string, body: Buffer, key?: string | number): boolean {
    if (!this.hasRoom()) return false;
    this.queue.push({ seq: this.seq++, id, body, key, attempts: 0 });
    this.pump();
    return true;
  }

  /** Resolves true once everything is confirmed, false if `timeoutMs` passes first (or the outbox closes). */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      // Deliberately not unref'd: someone awaits this bounded flush, and the retries it waits for
      // run on unref'd timers; the process must live until it is done or timed out.
      const done = (flushed: boolean) => {
        clearTimeout(timer);
        resolve(flushed);
      };
      this.idleWaiters.push(done);
    });
  }

  /**
   * Stop sending and retrying; returns the entries not confirmed, oldest
   * first. Those still in flight are included: they may yet land, but nobody
   * will know.
   */
  close(): OutboxEntry[] {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const left = [...this.failedRound, ...this.inFlight, ...this.queue].sort((a, b) => a.seq - b.seq);
    for (const w of this.idleWaiters.splice(0)) w(false);
    return left;
  }

  private pump(): void {
    if (this.paused || this.closed) return;
    // Oldest first, skipping entries whose key is busy; the scan is bounded so
    // a long backlog after an outage costs O(window) per pump, not O(backlog).
    const limit = Math.min(this.queue.length, this.opts.window * 4);
    let kept: OutboxEntry[] | null = null;
    let i = 0;
    for (; i < limit && this.inFlight.size < this.opts.window; i++) {
      const entry = this.queue[i];
      if (entry.key !== undefined && this.busy.has(entry.key)) {
        (kept ??= []).push(entry);
        continue;
      }
      this.dispatch(entry);
    }
    if (i > 0) this.queue = kept === null ? this.queue.slice(i) : [...kept, ...this.queue.slice(i)];
  }

  private dispatch(entry: OutboxEntry): void {
    entry.attempts++;
    if (entry.attempts === 1) this._stats.sent++;
    this.inFlight.add(entry);
    if (entry.key !== undefined) this.busy.add(entry.key);
    this.send(entry.body).then(
      () => {
        this.inFlight.delete(entry);
        if (entry.key !== undefined) this.busy.delete(entry.key);
        this._stats.confirmed++;
        this.rounds = 0;
        this.onConfirmed?.(entry);
        this.settled();
      },
      (err: unknown) => {
        this.inFlight.delete(entry);
        this._stats.failed++;
        if (this.closed) return; // reported by close() already
        if (!this.paused) {
          this.logger.warn(
            { err: (err as Error)?.message ?? String(err), pending: this.pending },
            'publish failed; holding events and retrying in order',
          );
        }
        this.paused = true;
        this.failedRound.push(entry);
        this.settled();
      },
    );
  }

  private settled(): void {
    if (this.closed) return;
    if (this.paused) {
      if (this.inFlight.size > 0 || this.retryTimer) return;
      // Everything in flight has settled: failures go first, in their original
      // order, and their keys are free again for exactly these resends.
      for (const e of this.failedRound) if (e.key !== undefined) this.busy.delete(e.key);
      this.queue = [...this.failedRound.sort((a, b) => a.seq - b.seq), ...this.queue];
      this.failedRound = [];
      this.rounds++;
      const delay = Math.min(this.opts.retryMaxMs, this.opts.retryInitialMs * 2 ** Math.min(this.rounds - 1, 20));
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.paused = false;
        this.pump();
      }, delay);
      this.retryTimer.unref();
      return;
    }
    this.pump();
    if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w(true);
  }
}
