import { PRODUCT_CHANGED, type Broker } from '../../broker/broker.js';
import type { Logger } from '../../logger.js';
import { encodeChangeEvent, makeChangeEvent, type ChangeEvent } from './change-event.js';
import { Outbox, type OutboxStats } from './outbox.js';
import { RandomChanges } from './random-change.js';

export interface EventGeneratorOptions {
  broker: Pick<Broker, 'publish'>;
  /** The catalog's product ids; read at start and refreshed every `productRefreshMs`. */
  productIds: () => Promise<number[]>;
  /** One event per tick (`GENERATOR_INTERVAL_MS`, see docs/protocol.md). Ignored when `rate` is set. */
  intervalMs: number;
  /** Load mode: events per second (fractions allowed), spread evenly. */
  rate?: number;
  logger: Logger;
  /** Unconfirmed events held while the broker is away; ticks beyond it are skipped (and counted). */
  maxPending?: number;
  summaryEveryMs?: number;
  productRefreshMs?: number;
  /** How long `stop()` waits for pending events to be confirmed. */
  flushTimeoutMs?: number;
  /**
   * Called once per event when the broker confirmed it (tests, metrics).
   * `attempts` > 1 means it was resent: the broker may hold it twice (the
   * first try can have landed with its confirm lost); consumers dedupe by event_id.
   */
  onConfirmed?: (event: ChangeEvent, info: { attempts: number }) => void;
  random?: () => number;
}

const DEFAULTS = { maxPending: 10_000, summaryEveryMs: 10_000, productRefreshMs: 60_000, flushTimeoutMs: 5_000 };

export interface GeneratorStats extends OutboxStats {
  /** Events not generated: buffer full, or no products known. */
  skipped: number;
}

export interface GeneratorStopReport extends GeneratorStats {
  /** event_ids never confirmed (pending when the flush timed out). */
  unconfirmed: string[];
}

/**
 * Publishes product change events (docs/protocol.md, "Change events") on a timer: a random product
 * per event, a plausible new price and/or stock, confirmed by the broker.
 * Survives a broker restart: unconfirmed events wait in a bounded outbox and
 * are retried, in order, until confirmed.
 *
 * @example
 * const gen = new EventGenerator({ broker, productIds: () => repo.productIds(), intervalMs: 1000, logger });
 * await gen.start();
 * // …
 * const report = await gen.stop(); // report.unconfirmed lists what never got through
 */
export class EventGenerator {
  private readonly productIds: () => Promise<number[]>;
  private readonly logger: Logger;
  private readonly opts: typeof DEFAULTS;
  private readonly periodMs: number;
  private readonly rate: number | undefined;
  private readonly changes: RandomChanges;
  private readonly random: () => number;
  private readonly outbox: Outbox;
  private readonly events = new Map<string, ChangeEvent>();
  private ids: number[] = [];
  private timers: NodeJS.Timeout[] = [];
  private tickTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private due = 0;
  private skipped = 0;
  private running = false;
  private stopped = false;

  constructor(options: EventGeneratorOptions) {
    const { broker, rate, intervalMs } = options;
    if (rate !== undefined && !(rate > 0 && Number.isFinite(rate)))
      throw new RangeError(`EventGenerator: rate must be a positive number (got ${rate})`);
    if (!(intervalMs > 0)) throw new RangeError(`EventGenerator: intervalMs must be positive (got ${intervalMs})`);
    this.productIds = options.productIds;
    this.logger = options.logger.child({ component: 'generator' });
    this.opts = {
      maxPending: options.maxPending ?? DEFAULTS.maxPending,
      summaryEveryMs: options.summaryEveryMs ?? DEFAULTS.summaryEveryMs,
      productRefreshMs: options.productRefreshMs ?? DEFAULTS.productRefreshMs,
      flushTimeoutMs: options.flushTimeoutMs ?? DEFAULTS.flushTimeoutMs,
    };
    // Rate mode ticks at most every 10 ms and emits what is due since start, so high rates need no per-event timer.
    this.rate = rate;
    this.periodMs = rate !== undefined ? Math.max(10, Math.min(1000, 1000 / rate)) : intervalMs;
    this.random = options.random ?? Math.random;
    this.changes = new RandomChanges(this.random);
    const onConfirmed = options.onConfirmed;
    this.outbox = new Outbox({
      send: (body) => broker.publish(PRODUCT_CHANGED, body),
      logger: this.logger,
      maxPending: this.opts.maxPending,
      onConfirmed: (entry) => {
        const event = this.events.get(entry.id);
        this.events.delete(entry.id);
        if (event) onConfirmed?.(event, { attempts: entry.attempts });
      },
    });
  }

  /** Load the product ids and start ticking. Rejects if the ids cannot be read at all. */
  async start(): Promise<void> {
    if (this.running || this.stopped) throw new Error('EventGenerator: start() called twice or after stop()');
    await this.refreshProducts();
    this.running = true;
    this.startedAt = Date.now();
    this.due = 0;
    this.tickTimer = this.every(this.periodMs, () => this.tick());
    this.every(this.opts.summaryEveryMs, () => this.logSummary());
    this.every(this.opts.productRefreshMs, () => {
      this.refreshProducts().catch((err: unknown) =>
        this.logger.warn({ err: (err as Error)?.message }, 'refreshing product ids failed; keeping the old list'),
      );
    });
    this.logger.info(
      { products: this.ids.length, eventsPerSecond: this.rate ?? 1000 / this.periodMs },
      'generator started',
    );
  }

  /**
   * Tick once `delayMs` from now, then every period from there. The gateway calls it when it
   * listens: the ticks started with the catalog, before anyone could subscribe, and a viewer
   * opening the dashboard at start-up should not wait a whole interval for the first change.
   */
  realign(delayMs: number): void {
    if (!this.running || this.tickTimer === null) return;
    const old = this.tickTimer;
    clearInterval(old);
    const t = setTimeout(
      () => {
        this.timers = this.timers.filter((x) => x !== t);
        if (!this.running) return;
        this.tick();
        this.tickTimer = this.every(this.periodMs, () => this.tick());
      },
      Math.min(delayMs, this.periodMs),
    );
    t.unref();
    this.timers = this.timers.map((x) => (x === old ? t : x));
    this.tickTimer = t;
  }

  /** Stop ticking, wait (bounded) for pending events to be confirmed, report what never was. */
  async stop(): Promise<GeneratorStopReport> {
    this.stopped = true;
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    const flushed = await this.outbox.flush(this.opts.flushTimeoutMs);
    const left = this.outbox.close();
    const report = { ...this.stats(), unconfirmed: left.map((e) => e.id) };
    this.logSummary();
    if (!flushed)
      this.logger.warn({ unconfirmed: report.unconfirmed.length }, 'generator stopped with unconfirmed events');
    return report;
  }

  stats(): GeneratorStats {
    return { ...this.outbox.stats(), skipped: this.skipped };
  }

  /** Generate and queue one event now; false when skipped (buffer full, no products). */
  emitOne(): boolean {
    // Checked before building the event, so a skipped tick does not advance the product's price walk.
    if (this.ids.length === 0 || !this.outbox.hasRoom()) {
      this.skipped++;
      return false;
    }
    const productId = this.ids[Math.floor(this.random() * this.ids.length)];
    const event = makeChangeEvent({ productId, changes: this.changes.next(productId) });
    if (!this.outbox.add(event.event_id, encodeChangeEvent(event), event.product_id)) {
      this.skipped++;
      return false;
    }
    this.events.set(event.event_id, event);
    return true;
  }

  private tick(): void {
    try {
      if (this.rate === undefined) {
        this.emitOne();
        return;
      }
      // Events due since start, not per tick: timer drift and slow ticks do not lower the rate.
      const target = Math.floor(((Date.now() - this.startedAt) * this.rate) / 1000);
      // After a stall (event loop blocked, suspended laptop) do not burst more than one second's worth.
      const n = Math.min(target - this.due, Math.max(1, Math.ceil(this.rate)));
      this.due = target;
      for (let i = 0; i < n; i++) this.emitOne();
    } catch (err) {
      // A bug in event building must not take the gateway down with it (npm start runs both in one process).
      this.skipped++;
      this.logger.error({ err }, 'generating a change event failed');
    }
  }

  private async refreshProducts(): Promise<void> {
    const ids = await this.productIds();
    this.ids = [...ids];
    this.changes.retain(this.ids);
    if (this.ids.length === 0) this.logger.warn('no products in the catalog; generator has nothing to change');
  }

  private every(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
    return t;
  }

  private logSummary(): void {
    const s = this.stats();
    this.logger.info(
      s,
      `generator: sent=${s.sent} confirmed=${s.confirmed} pending=${s.pending} failed=${s.failed} skipped=${s.skipped}`,
    );
  }
}

/** The generator's counters as `/realtime/stats` fields (snake_case, like the rest of that answer). */
export function generatorStatsFields(s: Readonly<GeneratorStats>): Record<string, number> {
  return {
    generator_sent: s.sent,
    generator_confirmed: s.confirmed,
    generator_pending: s.pending,
    generator_failed: s.failed,
    generator_skipped: s.skipped,
  };
}
