import { createLogger, type Logger } from '../logger.js';
import {
  DEFAULT_PREFETCH,
  PRODUCT_CHANGED,
  topicMatches,
  type Broker,
  type CancelOptions,
  type ConsumeOptions,
  type Consumption,
  type DeliveryHandler,
} from './broker.js';
import { invokeHandler, SettleOnceDelivery } from './delivery.js';
import { BrokerError, BrokerErrorCode } from './errors.js';

/** A message kept in `catalog.dead`, as a RabbitMQ reader would see it in the headers. */
export interface DeadLetter {
  readonly body: Buffer;
  readonly reason: string;
  readonly routingKey: string;
  readonly deadLetteredAt: string;
}

/** @internal */
export interface Message {
  /** Publish order; a requeued message goes back to its place, as RabbitMQ does. */
  readonly seq: number;
  readonly routingKey: string;
  readonly body: Buffer;
  redelivered: boolean;
}

/** @internal */
export interface Subscriber {
  readonly handler: DeliveryHandler;
  readonly prefetch: number;
  unacked: number;
  active: boolean;
  /** Delivered and not yet settled (what `cancel({ returnUnsettled })` hands back). */
  readonly outstanding: Set<Message>;
}

/**
 * In-process broker for `npm start` and tests: one gateway queue bound to
 * `product.changed`, prefetch, requeue with `redelivered`, and inspectable
 * dead letters. Deliveries are dispatched asynchronously, never from inside
 * `publish`, so handlers are not re-entered.
 *
 * @example
 * const broker = new MemoryBroker();
 * await broker.consume((d) => { console.log(d.body.toString()); d.ack(); });
 * await broker.publish('product.changed', Buffer.from('{}'));
 */
export class MemoryBroker implements Broker {
  readonly driver = 'memory' as const;
  private readonly logger: Logger;
  private readonly ready: Message[] = [];
  private readonly dead: DeadLetter[] = [];
  private readonly subscribers: Subscriber[] = [];
  private seq = 0;
  private next = 0;
  private _closed = false;
  private dispatchScheduled = false;

  constructor(options: { logger?: Logger } = {}) {
    this.logger = options.logger ?? createLogger('silent');
  }

  publish(routingKey: string, body: Buffer): Promise<void> {
    if (this._closed) return Promise.reject(new BrokerError(BrokerErrorCode.closed, 'broker is closed'));
    // Unroutable messages vanish, as with a RabbitMQ topic exchange and no `mandatory` flag.
    if (topicMatches(PRODUCT_CHANGED, routingKey)) {
      // Copied: the publisher may reuse its buffer, a broker would have the bytes already.
      this.ready.push({ seq: this.seq++, routingKey, body: Buffer.from(body), redelivered: false });
      this.scheduleDispatch();
    }
    return Promise.resolve();
  }

  async consume(handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Consumption> {
    if (this._closed) throw new BrokerError(BrokerErrorCode.closed, 'broker is closed');
    const subscriber: Subscriber = {
      handler,
      prefetch: options.prefetch ?? DEFAULT_PREFETCH,
      unacked: 0,
      active: true,
      outstanding: new Set(),
    };
    this.subscribers.push(subscriber);
    this.scheduleDispatch();
    return {
      cancel: async ({ returnUnsettled = false }: CancelOptions = {}) => {
        subscriber.active = false;
        const i = this.subscribers.indexOf(subscriber);
        if (i >= 0) this.subscribers.splice(i, 1);
        if (!returnUnsettled || this._closed) return;
        // As RabbitMQ does when a channel closes: every unacked message back to its place.
        for (const message of subscriber.outstanding) {
          message.redelivered = true;
          this.requeue(message);
        }
        subscriber.outstanding.clear();
        subscriber.unacked = 0;
        this.scheduleDispatch();
      },
    };
  }

  isReady(): boolean {
    return !this._closed;
  }

  async close(): Promise<void> {
    this._closed = true;
    for (const s of this.subscribers) s.active = false;
    this.subscribers.length = 0;
  }

  /** Messages dead-lettered so far, oldest first (the `catalog.dead` queue). */
  deadLetters(): readonly DeadLetter[] {
    return this.dead;
  }

  /** Queue depth: messages waiting, and handed out but not yet settled. */
  depth(): { ready: number; unacked: number } {
    let unacked = 0;
    for (const s of this.subscribers) unacked += s.unacked;
    return { ready: this.ready.length, unacked };
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled || this._closed) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Hand ready messages round-robin to subscribers that have prefetch room. */
  private dispatch(): void {
    while (this.ready.length > 0 && !this._closed) {
      const subscriber = this.pickSubscriber();
      if (!subscriber) return;
      const message = this.ready.shift()!;
      subscriber.unacked++;
      subscriber.outstanding.add(message);
      invokeHandler(subscriber.handler, new MemoryDelivery(this, subscriber, message), this.logger);
    }
  }

  private pickSubscriber(): Subscriber | undefined {
    const n = this.subscribers.length;
    for (let i = 0; i < n; i++) {
      const s = this.subscribers[(this.next + i) % n];
      if (s.unacked < s.prefetch) {
        this.next = (this.next + i + 1) % n;
        return s;
      }
    }
    return undefined;
  }

  /** @internal settle paths used by MemoryDelivery */
  settle(subscriber: Subscriber, message: Message, requeue: boolean): void {
    // Handed back already by cancel({ returnUnsettled }): like settling on a closed channel, a no-op.
    if (!subscriber.outstanding.delete(message)) return;
    subscriber.unacked--;
    if (this._closed) return; // like a dropped connection: nothing left to settle against
    if (requeue) {
      message.redelivered = true;
      this.requeue(message);
    }
    this.scheduleDispatch();
  }

  /** @internal */
  addDeadLetter(message: Message, reason: string): void {
    this.dead.push({
      body: message.body,
      reason,
      routingKey: message.routingKey,
      deadLetteredAt: new Date().toISOString(),
    });
  }

  /** @internal */
  get closed(): boolean {
    return this._closed;
  }

  private requeue(message: Message): void {
    // Back to its original position: binary search on seq (the queue is sorted by it).
    let lo = 0;
    let hi = this.ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ready[mid].seq < message.seq) lo = mid + 1;
      else hi = mid;
    }
    this.ready.splice(lo, 0, message);
  }
}

class MemoryDelivery extends SettleOnceDelivery {
  constructor(
    private readonly broker: MemoryBroker,
    private readonly subscriber: Subscriber,
    private readonly message: Message,
  ) {
    super(message.body, message.routingKey, message.redelivered);
  }

  protected doAck(): void {
    this.broker.settle(this.subscriber, this.message, false);
  }

  protected doRetry(): void {
    this.broker.settle(this.subscriber, this.message, true);
  }

  protected async publishDeadLetter(reason: string): Promise<void> {
    if (this.broker.closed) throw new BrokerError(BrokerErrorCode.closed, 'broker is closed');
    this.broker.addDeadLetter(this.message, reason);
  }
}
