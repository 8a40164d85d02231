import type { Broker, BrokerDelivery, Consumption } from '../../broker/broker.js';
import { CATALOG_CHANNEL, CatalogEvent, productChannel } from './channels.js';
import type { Publisher } from '../../application.js';
import type { Logger } from '../../logger.js';
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
  /**
   * Realtime publishes of an applied change that failed (hub or Redis down). The delivery is
   * retried, then handed back unacked; its redelivery announces the change then.
   */
  publishFailed: number;
  /** Duplicates whose product state had not been published yet and was announced from the redelivery. */
  republished: number;
  /** Deliveries received and not yet settled. */
  inFlight: number;
}

interface Item {
  readonly event: ChangeEvent;
  readonly delivery: BrokerDelivery;
}

type Outcome = 'settled' | 'give-back';

/**
 * The gateway side of the pipeline (docs/protocol.md, "The product and the event pipeline"): broker delivery → schema →
 * database (exactly once, by `event_id`) → after the commit, `product.updated`
 * on `products` and `product:<id>` → ack.
 *
 * Order: events of one product are applied one after another in delivery
 * order (a lane per product_id); different products run concurrently.
 * When an event has to go back to the broker, every later event of that
 * product still queued here goes back with it, so the broker's requeue keeps
 * them in order. Across gateway nodes, the queue has one active consumer at
 * a time (RabbitMQ single-active-consumer, see rabbitmq-topology.ts), and
 * `stop()` hands back what it holds in one step, so the next node takes over
 * in queue order.
 *
 * Never applied without being announced: an event is acked only once its
 * `product.updated` is published. If the node dies (or the hub fails) between
 * the commit and the publish, the redelivered copy is a duplicate that
 * carries the product's current state, and it is published then, guarded by
 * the product version (publish-once), so subscribers see each version exactly once.
 *
 * @example
 * const consumer = new CatalogConsumer({ broker, applier: repository, publisher: hub, logger });
 * await consumer.start();
 * // … on shutdown:
 * await consumer.stop();
 */
export class CatalogConsumer {
  private readonly broker: Broker;
  private readonly applier: ChangeApplier;
  private readonly publisher: Publisher;
  private readonly logger: Logger;
  private readonly opts: typeof DEFAULTS;
  private readonly lanes = new Map<number, Item[]>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private readonly poison: PoisonTracker;
  private readonly _stats: ConsumerStats = {
    received: 0,
    applied: 0,
    duplicates: 0,
    deadLettered: 0,
    retried: 0,
    applyErrors: 0,
    publishFailed: 0,
    republished: 0,
    inFlight: 0,
  };
  private consumption: Consumption | null = null;
  private stopping = false;
  /** Deliveries left unsettled by stop(), handed back to the broker in one step. */
  private leftForBroker = 0;
  private lastApplyWarn = 0;

  constructor(options: CatalogConsumerOptions) {
    const { broker, applier, publisher, logger, ...rest } = options;
    this.broker = broker;
    this.applier = applier;
    this.publisher = publisher;
    this.logger = logger.child({ component: 'catalog-consumer' });
    this.opts = { ...DEFAULTS, ...definedOnly(rest) };
    this.poison = new PoisonTracker(this.opts.poisonAfter);
  }

  async start(): Promise<void> {
    if (this.consumption || this.stopping) throw new Error('CatalogConsumer: start() called twice or after stop()');
    this.consumption = await this.broker.consume((d) => this.onDelivery(d), { prefetch: this.opts.prefetch });
  }

  /**
   * Stop: finish the event each lane is applying, then hand every other
   * delivery in hand back to the broker at once (cancel with
   * `returnUnsettled`), instead of working through up to `prefetch` of them
   * while shutting down. The next node takes over from the oldest of them,
   * in queue order. (RabbitMQ 3.10 does not activate the next
   * single-active consumer before this one's unacked messages are settled or
   * returned, as observed; handing them back keeps per-product order from
   * depending on that, and lets the next node start at once.)
   * Resolves when nothing is in flight.
   */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      for (const s of this.sleeps) s.wake();
      while (this.tasks.size > 0) await Promise.all([...this.tasks]);
      await this.consumption?.cancel({ returnUnsettled: true });
      this._stats.retried += this.leftForBroker;
      this._stats.inFlight -= this.leftForBroker;
      this.leftForBroker = 0;
    }
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
  }

  /** A snapshot of the counters, for `/realtime/stats` and `/metrics`. */
  stats(): Readonly<ConsumerStats> {
    return { ...this._stats };
  }

  private onDelivery(delivery: BrokerDelivery): void {
    this._stats.received++;
    this._stats.inFlight++;
    if (this.stopping) {
      // Left unsettled: stop() hands it back with the rest, in queue order. (A nack now would
      // bring it straight back here while this node is still the active consumer.)
      this.leftForBroker++;
      return;
    }
    const parsed = parseChangeEvent(delivery.body);
    if (!parsed.ok) {
      this.track(this.deadLetter(delivery, `malformed event: ${parsed.reason}`));
      return;
    }
    const { event } = parsed;
    if (delivery.messageId !== undefined || delivery.producer !== undefined) {
      event.source = { message_id: delivery.messageId, producer: delivery.producer };
    }
    const lane = this.lanes.get(event.product_id);
    if (lane) {
      lane.push({ event, delivery });
      return;
    }
    const fresh: Item[] = [{ event, delivery }];
    this.lanes.set(event.product_id, fresh);
    this.track(this.runLane(event.product_id, fresh));
  }

  /** Apply one product's events strictly in order. The head item stays in the lane while it runs, so newcomers queue behind it. */
  private async runLane(productId: number, lane: Item[]): Promise<void> {
    try {
      while (lane.length > 0) {
        if (this.stopping) {
          this.leftForBroker += lane.splice(0).length; // stop() hands them back, in order
          break;
        }
        const item = lane[0];
        const outcome = await this.process(item);
        lane.shift();
        if (outcome === 'give-back' && this.stopping) {
          this.leftForBroker += 1 + lane.splice(0).length;
        } else if (outcome === 'give-back') {
          for (const later of [item, ...lane.splice(0)]) {
            later.delivery.retry();
            this._stats.retried++;
            this._stats.inFlight--;
          }
        }
      }
    } finally {
      // Even if a bug threw above, the next event of this product must start a fresh lane.
      this.lanes.delete(productId);
    }
  }

  private async process(item: Item): Promise<Outcome> {
    const { event } = item;
    for (let attempt = 1; ; attempt++) {
      let result: ApplyResult;
      try {
        result = await this.applier.applyChange(event);
      } catch (err) {
        this._stats.applyErrors++;
        const message = (err as Error)?.message ?? String(err);
        if (isPermanentApplyError(err)) {
          await this.deadLetter(item.delivery, `change rejected: ${message}`);
          return 'settled';
        }
        if (this.poison.failed(event.event_id)) {
          await this.deadLetter(item.delivery, `apply failed repeatedly while other events applied: ${message}`);
          return 'settled';
        }
        this.warnApplyFailure(message, event.event_id, attempt);
        if (this.stopping || attempt >= this.opts.maxAttempts) return 'give-back';
        await this.sleep(Math.min(this.opts.retryMaxDelayMs, this.opts.retryDelayMs * 2 ** (attempt - 1)));
        continue;
      }
      this.poison.succeeded(event.event_id);
      return this.settle(item, result);
    }
  }

  private async settle({ event, delivery }: Item, result: ApplyResult): Promise<Outcome> {
    switch (result.status) {
      case 'applied':
        this._stats.applied++;
        if (!(await this.announce(event, result.product))) return 'give-back';
        this.ack(delivery);
        return 'settled';
      case 'duplicate':
        this._stats.duplicates++;
        this.logger.debug({ event_id: event.event_id }, 'duplicate change event; already applied');
        // The node that applied it may have died before publishing: announce the current state
        // unless it went out already (the publish-once guard decides, atomically).
        if (result.product !== undefined && !(await this.announce(event, result.product, true))) return 'give-back';
        this.ack(delivery);
        return 'settled';
      case 'unknown_product':
        await this.deadLetter(delivery, `unknown product_id ${event.product_id}`);
        return 'settled';
      default: {
        const never: never = result;
        await this.deadLetter(delivery, `applier answered an unknown status: ${JSON.stringify(never)}`);
        return 'settled';
      }
    }
  }

  /**
   * After the commit: `product.updated` on `products` and `product:<id>`, each
   * published once per product version. Retried with backoff while the hub
   * fails (Redis restarting); false when it still fails (or we are stopping):
   * the delivery then goes back unacked, and its redelivery, a duplicate,
   * publishes what is still missing.
   */
  private async announce(event: ChangeEvent, product: unknown, redelivered = false): Promise<boolean> {
    const version = (product as { version?: unknown } | null)?.version;
    // The product announced is the one the applier answered with: for a duplicate that is the
    // product of the event first applied under this event_id, which a copy may misname (a
    // producer reusing ids, or a forged message). Its state goes to its own channel only.
    const ownId = (product as { id?: unknown } | null)?.id;
    const productId = typeof ownId === 'number' ? ownId : event.product_id;
    const options = typeof version === 'number' ? { once: { key: String(productId), version } } : {};
    for (let attempt = 1; ; attempt++) {
      try {
        const ids = await Promise.all([
          this.publisher.publish(CATALOG_CHANNEL, CatalogEvent.productUpdated, product, options),
          this.publisher.publish(productChannel(productId), CatalogEvent.productUpdated, product, options),
        ]);
        if (redelivered && ids.some((id) => id !== null)) {
          this._stats.republished++;
          this.logger.info(
            { event_id: event.event_id, product_id: event.product_id, version },
            'announced a change whose first publish was lost',
          );
        }
        return true;
      } catch (err) {
        this._stats.publishFailed++;
        const message = (err as Error)?.message ?? String(err);
        const last = this.stopping || attempt >= this.opts.maxAttempts;
        this.logger[last ? 'warn' : 'debug'](
          { err: message, event_id: event.event_id, attempt },
          'change applied but publishing product.updated failed; will retry',
        );
        if (last) return false;
        await this.sleep(Math.min(this.opts.retryMaxDelayMs, this.opts.retryDelayMs * 2 ** (attempt - 1)));
      }
    }
  }

  private ack(delivery: BrokerDelivery): void {
    this._stats.inFlight--;
    delivery.ack();
  }

  private async deadLetter(delivery: BrokerDelivery, reason: string): Promise<void> {
    this._stats.inFlight--;
    try {
      await delivery.deadLetter(reason);
      this._stats.deadLettered++;
      this.logger.warn({ reason }, 'change event dead-lettered to catalog.dead');
    } catch (err) {
      // deadLetter() handed the message back to the broker; it comes round again.
      this._stats.retried++;
      this.logger.error({ err, reason }, 'dead-lettering failed; message returned to the queue');
    }
  }

  /**
   * While the database is down every in-flight event fails every few hundred
   * ms: one warning per interval (with the running total) says it, the rest go to debug.
   */
  private warnApplyFailure(message: string, eventId: string, attempt: number): void {
    const now = Date.now();
    const loud = now - this.lastApplyWarn >= APPLY_WARN_INTERVAL_MS;
    if (loud) this.lastApplyWarn = now;
    this.logger[loud ? 'warn' : 'debug'](
      { err: message, event_id: eventId, attempt, applyErrors: this._stats.applyErrors },
      'applying a change event failed; will retry',
    );
  }

  private track(task: Promise<void>): void {
    const tracked = task.catch((err: unknown) => this.logger.error({ err }, 'catalog consumer task failed (bug)'));
    this.tasks.add(tracked);
    void tracked.finally(() => this.tasks.delete(tracked));
  }

  /** A backoff pause that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => entry.wake(), ms),
        wake: () => {
          clearTimeout(entry.timer);
          this.sleeps.delete(entry);
          resolve();
        },
      };
      entry.timer.unref();
      this.sleeps.add(entry);
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
    events_republished: s.republished,
    events_in_flight: s.inFlight,
  };
}
