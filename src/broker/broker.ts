/**
 * The message broker seen by the gateway and the generator. One driver per
 * file (rabbitmq.ts, memory.ts), chosen once at boot by `createBroker`.
 *
 * Contract (CONTRACT §2): exchange `catalog` (topic, durable), routing key
 * `product.changed`, persistent JSON bodies; malformed messages end in the
 * `catalog.dead` queue with the reason.
 */
export const CATALOG_EXCHANGE = 'catalog';
export const PRODUCT_CHANGED = 'product.changed';
export const DEAD_LETTER_QUEUE = 'catalog.dead';

/** One delivered message. Exactly one of ack/deadLetter/retry must be called. */
export interface BrokerDelivery {
  readonly body: Buffer;
  /** True when the broker says this message was delivered before (crash, nack). */
  readonly redelivered: boolean;
  /** Done with it: called only after the database commit. */
  ack(): void;
  /** Not processable (malformed): move to `catalog.dead` with the reason, then ack. */
  deadLetter(reason: string): Promise<void>;
  /** Transient failure (DB down): give it back to the broker for a later try. */
  retry(): void;
}

export type DeliveryHandler = (delivery: BrokerDelivery) => void;

export interface Broker {
  readonly driver: 'rabbitmq' | 'memory';
  /** Publish one persistent message; resolves once the broker confirmed it. */
  publish(routingKey: string, body: Buffer): Promise<void>;
  /** Start consuming product change events for the gateway (durable, competing consumers). */
  consume(handler: DeliveryHandler, options?: { prefetch?: number }): Promise<void>;
  /** Readiness: connected right now. */
  isReady(): boolean;
  close(): Promise<void>;
}
