import type { Channel, ConsumeMessage, Options } from 'amqplib';
import type { Logger } from '../logger.js';
import { GATEWAY_QUEUE, type DeliveryHandler } from './broker.js';
import { invokeHandler } from './delivery.js';
import { RabbitDelivery, type ConsumerEntry, type DeliveryOwner } from './rabbitmq-delivery.js';
import type { Session } from './rabbitmq-session.js';

/** What the consumers need from their broker. */
export interface ConsumersHost {
  /** Publish with confirm (dead letters go out this way). */
  send(exchange: string, routingKey: string, body: Buffer, props: Options.Publish): Promise<void>;
}

/**
 * The `consume()` calls of a RabbitMQ broker. Each has its own channel with
 * its prefetch on the current session, manual ack; a new session resumes
 * every one of them. A consumer channel lost, or cancelled by the server, is
 * a loss of the whole session (`lost`), which the broker replaces.
 */
export class RabbitConsumers implements DeliveryOwner {
  private readonly entries = new Set<ConsumerEntry>();

  constructor(
    private readonly host: ConsumersHost,
    private readonly logger: Logger,
    private readonly lost: (session: Session, err: Error) => void,
  ) {}

  /** A new consumer, started by the caller on the current session or by the next one. */
  add(handler: DeliveryHandler, prefetch: number): ConsumerEntry {
    const entry: ConsumerEntry = {
      handler,
      prefetch,
      channel: null,
      session: null,
      tag: null,
      unacked: 0,
      cancelled: false,
    };
    this.entries.add(entry);
    return entry;
  }

  /** Start every consumer not started on `session` yet, one after the other. */
  async startAll(session: Session): Promise<void> {
    for (const entry of this.entries) await this.start(session, entry);
  }

  async start(session: Session, entry: ConsumerEntry): Promise<void> {
    if (entry.session === session || entry.cancelled) return;
    entry.session = session;
    const ch = await session.model.createChannel();
    ch.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'rabbitmq consumer channel error'));
    ch.on('close', () => {
      if (entry.channel === ch && !entry.cancelled) this.lost(session, new Error('consumer channel closed'));
    });
    await ch.prefetch(entry.prefetch);
    entry.channel = ch;
    entry.unacked = 0;
    const { consumerTag } = await ch.consume(GATEWAY_QUEUE, (msg) => this.onMessage(session, entry, ch, msg), {
      noAck: false,
    });
    entry.tag = consumerTag;
    // cancel() ran while we were subscribing (it saw no tag yet): finish its job now.
    if (entry.cancelled) await this.stop(entry, entry.returnUnsettled === true);
  }

  private onMessage(session: Session, entry: ConsumerEntry, ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The server cancelled us (queue deleted): reconnecting re-declares it and resubscribes.
      this.lost(session, new Error(`consumer cancelled by RabbitMQ (queue ${GATEWAY_QUEUE} deleted?)`));
      return;
    }
    entry.unacked++;
    invokeHandler(entry.handler, new RabbitDelivery(this, entry, ch, msg, this.logger), this.logger);
  }

  async cancel(entry: ConsumerEntry, returnUnsettled: boolean): Promise<void> {
    if (entry.cancelled) return;
    entry.cancelled = true;
    entry.returnUnsettled = returnUnsettled;
    this.entries.delete(entry);
    await this.stop(entry, returnUnsettled);
  }

  private async stop(entry: ConsumerEntry, returnUnsettled: boolean): Promise<void> {
    const { channel, tag } = entry;
    if (!channel || !tag) return; // not subscribed (yet): start() checks `cancelled` when it gets there
    if (returnUnsettled) {
      // Closing the channel cancels the consumer and requeues every unacked message in one step,
      // each at its original place; on a single-active-consumer queue the next consumer becomes
      // active only then. Later settles see a lost channel and do nothing.
      entry.channel = null;
      await channel
        .close()
        .catch((err: unknown) => this.logger.debug({ err }, 'closing a consumer channel failed (already closed)'));
      return;
    }
    await channel
      .cancel(tag)
      .catch((err: unknown) => this.logger.debug({ err }, 'cancel on a closed channel; nothing to stop'));
    // Deliveries already handed out still need this channel to be acked on.
    if (entry.unacked === 0) this.closeConsumerChannel(entry);
  }

  /** The session is gone, and every consumer channel with it. */
  detachAll(): void {
    for (const entry of this.entries) entry.channel = null;
  }

  clear(): void {
    this.entries.clear();
  }

  /** @internal */
  send(exchange: string, routingKey: string, body: Buffer, props: Options.Publish): Promise<void> {
    return this.host.send(exchange, routingKey, body, props);
  }

  /** @internal */
  closeConsumerChannel(entry: ConsumerEntry): void {
    const ch = entry.channel;
    entry.channel = null;
    ch?.close().catch((err: unknown) => this.logger.debug({ err }, 'closing a consumer channel failed'));
  }
}
