import type { Channel, ConsumeMessage, Options } from 'amqplib';
import type { Logger } from '../logger.js';
import { DEAD_LETTER_QUEUE, DeadLetterHeader, type DeliveryHandler } from './broker.js';
import { SettleOnceDelivery } from './delivery.js';

/** @internal One `consume()` call; survives reconnects, its channel does not. */
export interface ConsumerEntry {
  readonly handler: DeliveryHandler;
  readonly prefetch: number;
  channel: Channel | null;
  /** The session this consumer was (or is being) started on: guards against starting it twice. */
  session: object | null;
  tag: string | null;
  unacked: number;
  cancelled: boolean;
  /** cancel() asked to hand unsettled deliveries back at once (close the channel). */
  returnUnsettled?: boolean;
}

/** What a RabbitDelivery needs from the consumers that handed it out (rabbitmq-consumers.ts). */
export interface DeliveryOwner {
  send(exchange: string, routingKey: string, body: Buffer, props: Options.Publish): Promise<void>;
  closeConsumerChannel(entry: ConsumerEntry): void;
}

/**
 * One AMQP delivery. Settling on a channel that has since died is a no-op:
 * RabbitMQ requeued the message with the channel and redelivers it, and the
 * consumer's event_id dedupe makes the second pass harmless.
 */
export class RabbitDelivery extends SettleOnceDelivery {
  constructor(
    private readonly broker: DeliveryOwner,
    private readonly entry: ConsumerEntry,
    private readonly ch: Channel,
    private readonly msg: ConsumeMessage,
    private readonly logger: Logger,
  ) {
    super(msg.content, msg.fields.routingKey, msg.fields.redelivered);
    const { messageId, appId } = msg.properties as { messageId?: unknown; appId?: unknown };
    if (typeof messageId === 'string' && messageId !== '') this.messageId = messageId;
    if (typeof appId === 'string' && appId !== '') this.producer = appId;
  }

  readonly messageId?: string;
  readonly producer?: string;

  protected doAck(): void {
    this.settle(() => this.ch.ack(this.msg));
  }

  protected doRetry(): void {
    this.settle(() => this.ch.nack(this.msg, false, true));
  }

  protected publishDeadLetter(reason: string): Promise<void> {
    const headers = {
      ...this.msg.properties.headers,
      [DeadLetterHeader.reason]: reason,
      [DeadLetterHeader.routingKey]: this.msg.fields.routingKey,
      [DeadLetterHeader.deadLetteredAt]: new Date().toISOString(),
    };
    // Default exchange, routing key = queue name: lands in catalog.dead whatever is bound to `catalog`.
    return this.broker.send('', DEAD_LETTER_QUEUE, this.msg.content, {
      persistent: true,
      contentType: this.msg.properties.contentType ?? 'application/octet-stream',
      headers,
      timestamp: Math.floor(Date.now() / 1000),
    });
  }

  private settle(op: () => void): void {
    if (this.entry.channel !== this.ch) {
      // Its channel died: the broker already requeued the message and will redeliver it.
      this.logger.debug('settling a delivery from a lost channel; RabbitMQ will redeliver it');
      return;
    }
    try {
      op();
    } catch (err) {
      this.logger.debug({ err }, 'channel closed while settling; RabbitMQ will redeliver the message');
    }
    this.entry.unacked--;
    if (this.entry.cancelled && this.entry.unacked === 0) this.broker.closeConsumerChannel(this.entry);
  }
}
