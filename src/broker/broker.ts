/**
 * The message broker seen by the gateway and the generator. One driver per
 * file (rabbitmq.ts, memory.ts), chosen once at boot by `createBroker`.
 *
 * On the wire (docs/protocol.md, "Change events"): exchange `catalog` (topic, durable), routing key
 * `product.changed`, persistent JSON bodies; malformed messages end in the
 * `catalog.dead` queue with the reason.
 */
export const CATALOG_EXCHANGE = 'catalog';
export const PRODUCT_CHANGED = 'product.changed';
/** The gateway's durable queue, bound to `PRODUCT_CHANGED`; gateways are competing consumers on it. */
export const GATEWAY_QUEUE = 'catalog.gateway';
export const DEAD_LETTER_QUEUE = 'catalog.dead';

/** Headers a dead-lettered message carries (besides its original body and content type). */
export const DeadLetterHeader = {
  reason: 'x-hubcast-reason',
  routingKey: 'x-hubcast-routing-key',
  deadLetteredAt: 'x-hubcast-dead-lettered-at',
} as const;

/** One delivered message. Exactly one of ack/deadLetter/retry must be called; a second one throws. */
export interface BrokerDelivery {
  readonly body: Buffer;
  /** The routing key it was published with. */
  readonly routingKey: string;
  /** True when the broker says this message was delivered before (crash, nack). */
  readonly redelivered: boolean;
  /** The producer's message id (AMQP `message-id` property), when it set one. */
  readonly messageId?: string;
  /** The producing application (AMQP `app-id` property), when it set one. */
  readonly producer?: string;
  /** Done with it: called only after the database commit. */
  ack(): void;
  /**
   * Not processable (malformed): publish the body to `catalog.dead` with the
   * reason (confirmed), then ack. If the dead-letter publish fails, the
   * message is given back to the broker (as `retry`) and the promise rejects.
   */
  deadLetter(reason: string): Promise<void>;
  /** Transient failure (DB down): give it back to the broker for a later try (nack + requeue). */
  retry(): void;
}

export type DeliveryHandler = (delivery: BrokerDelivery) => void;

export interface ConsumeOptions {
  /** Unacked deliveries this consumer may hold at once. Default 64. */
  prefetch?: number;
}

export interface CancelOptions {
  /**
   * Hand every delivery not yet settled back to the broker now, in one step
   * (RabbitMQ: close the consumer's channel), instead of waiting for them to
   * be settled. With competing consumers on a single-active-consumer queue,
   * the next consumer then starts from the oldest of them, in queue order.
   * Settling one of them afterwards is a no-op.
   */
  returnUnsettled?: boolean;
}

/** A running consumer. `cancel` stops new deliveries; ones already handed out can still be settled (unless `returnUnsettled`). */
export interface Consumption {
  cancel(options?: CancelOptions): Promise<void>;
}

export interface Broker {
  readonly driver: 'rabbitmq' | 'memory';
  /**
   * Publish one persistent JSON message to the `catalog` exchange; resolves
   * once the broker confirmed it. While disconnected it waits (bounded) for
   * the connection to come back, then rejects with a `BrokerError`.
   */
  publish(routingKey: string, body: Buffer): Promise<void>;
  /** Start consuming the gateway queue (durable, competing consumers); resumes by itself after a reconnect. */
  consume(handler: DeliveryHandler, options?: ConsumeOptions): Promise<Consumption>;
  /** Readiness: connected right now. */
  isReady(): boolean;
  /** Release connections and timers. Unacked deliveries return to the queue. */
  close(): Promise<void>;
}

export const DEFAULT_PREFETCH = 64;

/**
 * Topic-exchange routing-key match (`*` one word, `#` zero or more words), so
 * the memory driver routes exactly as RabbitMQ would.
 */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const p = pattern.split('.');
  const k = routingKey.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') return match(i + 1, j) || (j < k.length && match(i, j + 1));
    if (j === k.length) return false;
    return (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}
