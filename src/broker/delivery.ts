import type { Logger } from '../logger.js';
import type { BrokerDelivery, DeliveryHandler } from './broker.js';
import { BrokerError, BrokerErrorCode } from './errors.js';

/** Reasons are stored in a header; AMQP header tables are bounded (64 KiB), so keep them short. */
export const MAX_REASON_LENGTH = 1000;

export function clampReason(reason: string): string {
  return reason.length <= MAX_REASON_LENGTH ? reason : `${reason.slice(0, MAX_REASON_LENGTH - 1)}…`;
}

/**
 * The settle-once rules both drivers share, so they behave alike: exactly one
 * of ack/retry/deadLetter, a second call throws `delivery_already_settled`
 * (RabbitMQ would otherwise close the channel with PRECONDITION_FAILED), and a
 * dead letter that cannot be published gives the message back instead of
 * leaving it unacked forever.
 */
export abstract class SettleOnceDelivery implements BrokerDelivery {
  private _settled = false;

  constructor(
    readonly body: Buffer,
    readonly routingKey: string,
    readonly redelivered: boolean,
  ) {}

  protected abstract doAck(): void;
  protected abstract doRetry(): void;
  /** Publish the body to the dead-letter queue with the reason; resolves when the broker confirmed. */
  protected abstract publishDeadLetter(reason: string): Promise<void>;

  get settled(): boolean {
    return this._settled;
  }

  ack(): void {
    this.claim('ack');
    this.doAck();
  }

  retry(): void {
    this.claim('retry');
    this.doRetry();
  }

  async deadLetter(reason: string): Promise<void> {
    this.claim('deadLetter');
    try {
      await this.publishDeadLetter(clampReason(reason));
    } catch (err) {
      this.doRetry();
      throw err;
    }
    this.doAck();
  }

  private claim(action: string): void {
    if (this._settled) {
      throw new BrokerError(BrokerErrorCode.alreadySettled, `cannot ${action}: delivery already settled`);
    }
    this._settled = true;
  }
}

/**
 * Call a consumer's handler. A handler that throws synchronously is a bug,
 * not a transient failure: the message is dead-lettered with the error so it
 * neither blocks a prefetch slot forever nor loops through redelivery.
 */
export function invokeHandler(handler: DeliveryHandler, delivery: SettleOnceDelivery, logger: Logger): void {
  try {
    handler(delivery);
  } catch (err) {
    logger.error({ err }, 'broker delivery handler threw; dead-lettering the message');
    if (delivery.settled) return;
    delivery.deadLetter(`consumer failed: ${(err as Error)?.message ?? String(err)}`).catch((dlErr: unknown) => {
      logger.error({ err: dlErr }, 'dead-lettering after a handler error failed; message returned to the queue');
    });
  }
}
