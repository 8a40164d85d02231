import type { Broker, BrokerDelivery, Consumption } from '../broker/broker.js';
import { SystemEvent } from '../codes.js';
import type { Publisher } from '../hub/publisher.js';
import type { Logger } from '../logger.js';
import { isPermanentApplyError, type ApplyResult, type ChangeApplier } from './applier.js';
import { parseChangeEvent, type ChangeEvent } from './change-event.js';
import { PoisonTracker } from './poison-tracker.js';

export interface CatalogConsumerOptions {
  broker: Broker;
  applier: ChangeApplier;
  publisher: Publisher;
  logger: Logger;
  /** Unacked events held at once; different products are applied concurrently up to this. */
  prefetch?: number;
  /** Tries of one delivery in-process (with backoff) before handing it back to the broker. */
  maxAttempts?: number;
  retryDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Failures of one event, while other events apply fine, before it is dead-lettered as poison. */
  poisonAfter?: number;
}

const APPLY_WARN_INTERVAL_MS = 5_000;

const DEFAULTS = { prefetch: 64, maxAttempts: 3, retryDelayMs: 250, retryMaxDelayMs: 5_000, poisonAfter: 10 };

export interface ConsumerStats {
  received: number;
  applied: number;
  duplicates: number;
  deadLettered: number;
  /** Deliveries handed back to the broker after transient failures. */
  retried: number;
  /** Apply attempts that threw (database down etc.). */
  applyErrors: number;
  /** Applied but the realtime publish failed (the database has the change; subscribers missed it). */
  publishFailed: number;
  /** Deliveries received and not yet settled. */
  inFlight: number;
}

interface Item {
  readonly event: ChangeEvent;
  readonly delivery: BrokerDelivery;
}

type Outcome = 'settled' | 'give-back';

/**
 * The gateway side of the pipeline (CONTRACT §2): broker delivery → schema →
 * database (exactly once, by `event_id`) → after the commit, `product.updated`
 * on `products` and `product:<id>` → ack.
 *
 * Order: events of one product are applied one after another in delivery
 * order (a lane per product_id); different products run concurrently.
 * When an event has to go back to the broker, every later event of that
 * product still queued here goes back with it, so the broker's requeue keeps
 * them in order.
 *
 * @example
 * const consumer = new CatalogConsumer({ broker, applier: repository, publisher: hub, logger });
 * await consumer.start();
 * // … on shutdown:
 * await consumer.stop();
 */
export class CatalogConsumer {
  readonly #broker: Broker;
  readonly #applier: ChangeApplier;
  readonly #publisher: Publisher;
  readonly #logger: Logger;
  readonly #opts: typeof DEFAULTS;
  readonly #lanes = new Map<number, Item[]>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #sleeps = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  readonly #poison: PoisonTracker;
  readonly #stats: ConsumerStats = { received: 0, applied: 0, duplicates: 0, deadLettered: 0, retried: 0, applyErrors: 0, publishFailed: 0, inFlight: 0 };
  #consumption: Consumption | null = null;
  #stopping = false;
  #lastApplyWarn = 0;

  constructor(options: CatalogConsumerOptions) {
    const { broker, applier, publisher, logger, ...rest } = options;
    this.#broker = broker;
    this.#applier = applier;
    this.#publisher = publisher;
    this.#logger = logger.child({ component: 'catalog-consumer' });
    this.#opts = { ...DEFAULTS, ...definedOnly(rest) };
    this.#poison = new PoisonTracker(this.#opts.poisonAfter);
  }

  async start(): Promise<void> {
    if (this.#consumption || this.#stopping) throw new Error('CatalogConsumer: start() called twice or after stop()');
    this.#consumption = await this.#broker.consume((d) => this.#onDelivery(d), { prefetch: this.#opts.prefetch });
  }

  /** Stop taking deliveries, finish (or hand back) those in hand. Resolves when nothing is in flight. */
  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      for (const s of this.#sleeps) s.wake();
      await this.#consumption?.cancel();
    }
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
  }

  /** A snapshot of the counters, for `/realtime/stats` and `/metrics`. */
  stats(): Readonly<ConsumerStats> {
    return { ...this.#stats };
  }

  #onDelivery(delivery: BrokerDelivery): void {
    if (this.#stopping) {
      delivery.retry(); // raced with cancel: another consumer (or our restart) will take it
      return;
    }
    this.#stats.received++;
    this.#stats.inFlight++;
    const parsed = parseChangeEvent(delivery.body);
    if (!parsed.ok) {
      this.#track(this.#deadLetter(delivery, `malformed event: ${parsed.reason}`));
      return;
    }
    const { event } = parsed;
    const lane = this.#lanes.get(event.product_id);
    if (lane) {
      lane.push({ event, delivery });
      return;
    }
    const fresh: Item[] = [{ event, delivery }];
    this.#lanes.set(event.product_id, fresh);
    this.#track(this.#runLane(event.product_id, fresh));
  }

  /** Apply one product's events strictly in order. The head item stays in the lane while it runs, so newcomers queue behind it. */
  async #runLane(productId: number, lane: Item[]): Promise<void> {
    try {
      while (lane.length > 0) {
        const item = lane[0];
        const outcome = await this.#process(item);
        lane.shift();
        if (outcome === 'give-back') {
          for (const later of [item, ...lane.splice(0)]) {
            later.delivery.retry();
            this.#stats.retried++;
            this.#stats.inFlight--;
          }
        }
      }
    } finally {
      // Even if a bug threw above, the next event of this product must start a fresh lane.
      this.#lanes.delete(productId);
    }
  }

  async #process(item: Item): Promise<Outcome> {
    const { event } = item;
    for (let attempt = 1; ; attempt++) {
      let result: ApplyResult;
      try {
        result = await this.#applier.applyChange(event);
      } catch (err) {
        this.#stats.applyErrors++;
        const message = (err as Error)?.message ?? String(err);
        if (isPermanentApplyError(err)) {
          await this.#deadLetter(item.delivery, `change rejected: ${message}`);
          return 'settled';
        }
        if (this.#poison.failed(event.event_id)) {
          await this.#deadLetter(item.delivery, `apply failed repeatedly while other events applied: ${message}`);
          return 'settled';
        }
        this.#warnApplyFailure(message, event.event_id, attempt);
        if (this.#stopping || attempt >= this.#opts.maxAttempts) return 'give-back';
        await this.#sleep(Math.min(this.#opts.retryMaxDelayMs, this.#opts.retryDelayMs * 2 ** (attempt - 1)));
        continue;
      }
      this.#poison.succeeded(event.event_id);
      await this.#settle(item, result);
      return 'settled';
    }
  }

  async #settle({ event, delivery }: Item, result: ApplyResult): Promise<void> {
    switch (result.status) {
      case 'applied':
        this.#stats.applied++;
        await this.#announce(event, result.product);
        this.#ack(delivery);
        return;
      case 'duplicate':
        this.#stats.duplicates++;
        this.#logger.debug({ event_id: event.event_id }, 'duplicate change event; already applied');
        this.#ack(delivery);
        return;
      case 'unknown_product':
        await this.#deadLetter(delivery, `unknown product_id ${event.product_id}`);
        return;
      default: {
        const never: never = result;
        await this.#deadLetter(delivery, `applier answered an unknown status: ${JSON.stringify(never)}`);
      }
    }
  }

  /** Only called after the commit. A failed publish is not retried: the change is applied and a redelivery would be a duplicate. */
  async #announce(event: ChangeEvent, product: unknown): Promise<void> {
    try {
      await Promise.all([
        this.#publisher.publish('products', SystemEvent.productUpdated, product),
        this.#publisher.publish(`product:${event.product_id}`, SystemEvent.productUpdated, product),
      ]);
    } catch (err) {
      this.#stats.publishFailed++;
      this.#logger.error({ err, event_id: event.event_id }, 'change applied but publishing product.updated failed');
    }
  }

  #ack(delivery: BrokerDelivery): void {
    this.#stats.inFlight--;
    delivery.ack();
  }

  async #deadLetter(delivery: BrokerDelivery, reason: string): Promise<void> {
    this.#stats.inFlight--;
    try {
      await delivery.deadLetter(reason);
      this.#stats.deadLettered++;
      this.#logger.warn({ reason }, 'change event dead-lettered to catalog.dead');
    } catch (err) {
      // deadLetter() handed the message back to the broker; it comes round again.
      this.#stats.retried++;
      this.#logger.error({ err, reason }, 'dead-lettering failed; message returned to the queue');
    }
  }

  /**
   * While the database is down every in-flight event fails every few hundred
   * ms: one warning per interval (with the running total) says it, the rest go to debug.
   */
  #warnApplyFailure(message: string, eventId: string, attempt: number): void {
    const now = Date.now();
    const loud = now - this.#lastApplyWarn >= APPLY_WARN_INTERVAL_MS;
    if (loud) this.#lastApplyWarn = now;
    this.#logger[loud ? 'warn' : 'debug']({ err: message, event_id: eventId, attempt, applyErrors: this.#stats.applyErrors }, 'applying a change event failed; will retry');
  }

  #track(task: Promise<void>): void {
    const tracked = task.catch((err: unknown) => this.#logger.error({ err }, 'catalog consumer task failed (bug)'));
    this.#tasks.add(tracked);
    void tracked.finally(() => this.#tasks.delete(tracked));
  }

  /** A backoff pause that stop() cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => entry.wake(), ms),
        wake: () => {
          clearTimeout(entry.timer);
          this.#sleeps.delete(entry);
          resolve();
        },
      };
      entry.timer.unref();
      this.#sleeps.add(entry);
    });
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The counters as `/realtime/stats` fields, snake_case like the rest of that
 * answer; metrics.ts exports `events_applied` and `events_dead_lettered`.
 */
export function consumerStatsFields(s: Readonly<ConsumerStats>): Record<string, number> {
  return {
    events_received: s.received,
    events_applied: s.applied,
    events_duplicate: s.duplicates,
    events_dead_lettered: s.deadLettered,
    events_retried: s.retried,
    events_apply_errors: s.applyErrors,
    events_publish_failed: s.publishFailed,
    events_in_flight: s.inFlight,
  };
}
