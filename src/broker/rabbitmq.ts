import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { amqplib } from '../lazy-deps.js';
import type { Logger } from '../logger.js';
import {
  CATALOG_EXCHANGE,
  DEFAULT_PREFETCH,
  GATEWAY_QUEUE,
  type Broker,
  type CancelOptions,
  type ConsumeOptions,
  type Consumption,
  type DeliveryHandler,
} from './broker.js';
import { invokeHandler } from './delivery.js';
import { RabbitDelivery, type ConsumerEntry, type DeliveryOwner } from './rabbitmq-delivery.js';
import { declareTopology } from './rabbitmq-topology.js';
import { BrokerError, BrokerErrorCode } from './errors.js';
import {
  backoffDelay,
  explainConnectError,
  isMisconfiguration,
  redactUrl,
  withDefaultHeartbeat,
} from './rabbitmq-util.js';
import { Waiters } from './waiters.js';

export interface RabbitMQOptions {
  /** Bound on one publish: waiting for the connection plus waiting for the confirm. */
  publishTimeoutMs?: number;
  /** Publishes allowed to wait for a lost connection at once; more are refused at once. */
  maxWaitingPublishes?: number;
  /** At boot, keep retrying an unreachable broker this long before failing the start. */
  startTimeoutMs?: number;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** AMQP heartbeat unless the URL sets one: how fast a silently dead peer is noticed. */
  heartbeatSeconds?: number;
}

/** `app-id` of what hubcast publishes: the event log records it as the event's producer. */
export const PRODUCER_APP_ID = 'hubcast';

const DEFAULTS: Required<RabbitMQOptions> = {
  publishTimeoutMs: 10_000,
  maxWaitingPublishes: 10_000,
  startTimeoutMs: 30_000,
  reconnectInitialMs: 200,
  reconnectMaxMs: 5_000,
  heartbeatSeconds: 10,
};

/** One live connection with its channels. Replaced wholesale on any loss: partial repair is where bugs live. */
interface Session {
  readonly model: ChannelModel;
  readonly pub: ConfirmChannel;
  alive: boolean;
}

/**
 * RabbitMQ driver. Declares the topology (docs/protocol.md) on every connect,
 * publishes on a confirm channel, consumes with manual ack, and reconnects
 * with full-jitter backoff when the connection or a channel is lost, resuming
 * every consumer. Use `RabbitMQBroker.connect`, which fails loudly on bad
 * credentials or vhost and waits (bounded) for a broker that is still starting.
 *
 * @example
 * const broker = await RabbitMQBroker.connect('amqp://guest:guest@127.0.0.1:5672', logger);
 * await broker.publish('product.changed', Buffer.from(JSON.stringify(event)));
 */
export class RabbitMQBroker implements Broker, DeliveryOwner {
  readonly driver = 'rabbitmq' as const;
  private readonly url: string;
  private readonly shownUrl: string;
  private readonly logger: Logger;
  private readonly opts: Required<RabbitMQOptions>;
  private readonly consumers = new Set<ConsumerEntry>();
  private readonly waiters: Waiters<Session>;
  private session: Session | null = null;
  private closed = false;
  private reconnecting: Promise<void> | null = null;
  private sleepTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;

  static async connect(url: string, logger: Logger, options: RabbitMQOptions = {}): Promise<RabbitMQBroker> {
    const broker = new RabbitMQBroker(url, logger, options);
    await broker.start();
    return broker;
  }

  private constructor(url: string, logger: Logger, options: RabbitMQOptions) {
    this.opts = { ...DEFAULTS, ...options };
    this.url = withDefaultHeartbeat(url, this.opts.heartbeatSeconds);
    this.shownUrl = redactUrl(url);
    this.logger = logger.child({ component: 'broker', driver: 'rabbitmq' });
    this.waiters = new Waiters(this.opts.maxWaitingPublishes);
  }

  publish(routingKey: string, body: Buffer): Promise<void> {
    return this.send(CATALOG_EXCHANGE, routingKey, body, {
      persistent: true,
      contentType: 'application/json',
      appId: PRODUCER_APP_ID,
    });
  }

  async consume(handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Consumption> {
    if (this.closed) throw new BrokerError(BrokerErrorCode.closed, 'broker is closed');
    const entry: ConsumerEntry = {
      handler,
      prefetch: options.prefetch ?? DEFAULT_PREFETCH,
      channel: null,
      session: null,
      tag: null,
      unacked: 0,
      cancelled: false,
    };
    this.consumers.add(entry);
    // Not connected right now: the reconnect starts it.
    const session = this.session;
    if (session) {
      try {
        await this.startConsumer(session, entry);
      } catch (err) {
        // The connection went away meanwhile (or the channel failed): replace the session; the reconnect resumes this consumer.
        this.lost(session, err instanceof Error ? err : new Error(String(err)));
      }
    }
    return { cancel: (cancelOptions?: CancelOptions) => this.cancel(entry, cancelOptions?.returnUnsettled === true) };
  }

  isReady(): boolean {
    return this.session !== null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopSleeping();
    this.waiters.rejectAll(new BrokerError(BrokerErrorCode.closed, 'broker is closed'));
    await this.reconnecting; // an open in progress sees #closed and closes what it opened
    const session = this.session;
    this.session = null;
    if (session) {
      session.alive = false;
      await session.model
        .close()
        .catch((err: unknown) => this.logger.debug({ err }, 'closing the rabbitmq connection failed'));
    }
    this.consumers.clear();
  }

  /**
   * @internal Publish with confirm, waiting (bounded) for a connection first.
   * Publishes issued while disconnected go out in the order they were issued.
   */
  send(exchange: string, routingKey: string, body: Buffer, props: Options.Publish): Promise<void> {
    if (this.closed) return Promise.reject(new BrokerError(BrokerErrorCode.closed, 'broker is closed'));
    const deadline = Date.now() + this.opts.publishTimeoutMs;
    // Connected: publish synchronously, so calls issued in order hit the channel in order.
    if (this.session) return this.confirm(this.session, exchange, routingKey, body, props, deadline);
    return this.waiters
      .wait(
        this.opts.publishTimeoutMs,
        () =>
          new BrokerError(
            BrokerErrorCode.unavailable,
            `RabbitMQ at ${this.shownUrl} is not connected (waited ${this.opts.publishTimeoutMs} ms)`,
          ),
      )
      .then((session) => this.confirm(session, exchange, routingKey, body, props, deadline));
  }

  private confirm(
    session: Session,
    exchange: string,
    routingKey: string,
    body: Buffer,
    props: Options.Publish,
    deadline: number,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(
        () => {
          done = true;
          reject(
            new BrokerError(
              BrokerErrorCode.timeout,
              `no publisher confirm from RabbitMQ within ${this.opts.publishTimeoutMs} ms`,
            ),
          );
        },
        Math.max(1, deadline - Date.now()),
      ); // ref'd like the Waiters' timers: an awaited, bounded operation
      const onConfirm = (err: unknown) => {
        clearTimeout(timer);
        if (done) return;
        done = true;
        if (!err) resolve();
        else if (session.alive)
          reject(new BrokerError(BrokerErrorCode.nacked, 'RabbitMQ refused the message (nack)', { cause: err }));
        else
          reject(
            new BrokerError(
              BrokerErrorCode.connectionLost,
              'RabbitMQ connection lost before the publish was confirmed',
              { cause: err },
            ),
          );
      };
      try {
        session.pub.publish(exchange, routingKey, body, props, onConfirm);
      } catch (err) {
        // The channel closed under us (its 'close' event is still queued).
        onConfirm(err ?? new Error('publish failed'));
      }
    });
  }

  private async start(): Promise<void> {
    const deadline = Date.now() + this.opts.startTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        if (this.closed) throw new BrokerError(BrokerErrorCode.closed, 'broker was closed while connecting');
        await this.open();
        this.logger.info({ url: this.shownUrl }, 'connected to RabbitMQ');
        return;
      } catch (err) {
        if (this.closed) throw new BrokerError(BrokerErrorCode.closed, 'broker was closed while connecting');
        const message = explainConnectError((err as Error)?.message ?? String(err));
        if (isMisconfiguration(err)) {
          throw new BrokerError(
            BrokerErrorCode.misconfigured,
            `RabbitMQ at ${this.shownUrl} refused the connection: ${message}`,
            { cause: err },
          );
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new BrokerError(
            BrokerErrorCode.unavailable,
            `could not connect to RabbitMQ at ${this.shownUrl} within ${this.opts.startTimeoutMs} ms: ${message}`,
            { cause: err },
          );
        }
        this.logger.warn({ err: message, attempt }, 'RabbitMQ not reachable yet; retrying');
        // ref'd: the caller awaits the start, and nothing else may be keeping the process alive yet.
        await this.sleep(
          Math.min(left, backoffDelay(attempt, this.opts.reconnectInitialMs, this.opts.reconnectMaxMs)),
          true,
        );
      }
    }
  }

  /** Connect, declare the topology, resume consumers; only then is the session current. */
  private async open(): Promise<void> {
    const model = await amqplib().connect(this.url, {
      timeout: 5000,
      clientProperties: { connection_name: `hubcast pid ${process.pid}` },
    });
    let session: Session | undefined;
    try {
      // Listeners first: an 'error' without a listener would crash the process.
      model.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'rabbitmq connection error'));
      model.on('blocked', (reason: string) =>
        this.logger.warn({ reason }, 'RabbitMQ blocked publishing (resource alarm)'),
      );
      model.on('unblocked', () => this.logger.info('RabbitMQ unblocked publishing'));
      const pub = await model.createConfirmChannel();
      const s: Session = { model, pub, alive: true };
      session = s;
      model.on('close', (err?: Error) => this.lost(s, err ?? new Error('connection closed')));
      pub.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'rabbitmq publish channel error'));
      pub.on('close', () => this.lost(s, new Error('publish channel closed')));
      await declareTopology(pub);
      for (const entry of this.consumers) await this.startConsumer(s, entry);
      if (this.closed) throw new BrokerError(BrokerErrorCode.closed, 'broker was closed while connecting');
      if (!s.alive) throw new Error('connection lost during setup');
      this.session = s;
      this.waiters.resolveAll(s);
    } catch (err) {
      if (session) session.alive = false;
      await model
        .close()
        .catch((closeErr: unknown) => this.logger.debug({ err: closeErr }, 'closing a half-open connection failed'));
      throw err;
    }
    // consume() calls that arrived during the setup above, after its loop had passed. The session is
    // current now, so a failure here is an ordinary loss (#lost reconnects), not a failed open.
    try {
      for (const entry of this.consumers) await this.startConsumer(session, entry);
    } catch (err) {
      this.lost(session, err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async startConsumer(session: Session, entry: ConsumerEntry): Promise<void> {
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
    if (entry.cancelled) await this.stopConsumer(entry, entry.returnUnsettled === true);
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

  private async cancel(entry: ConsumerEntry, returnUnsettled: boolean): Promise<void> {
    if (entry.cancelled) return;
    entry.cancelled = true;
    entry.returnUnsettled = returnUnsettled;
    this.consumers.delete(entry);
    await this.stopConsumer(entry, returnUnsettled);
  }

  private async stopConsumer(entry: ConsumerEntry, returnUnsettled: boolean): Promise<void> {
    const { channel, tag } = entry;
    if (!channel || !tag) return; // not subscribed (yet): #startConsumer checks `cancelled` when it gets there
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

  /** @internal */
  closeConsumerChannel(entry: ConsumerEntry): void {
    const ch = entry.channel;
    entry.channel = null;
    ch?.close().catch((err: unknown) => this.logger.debug({ err }, 'closing a consumer channel failed'));
  }

  private lost(session: Session, err: Error): void {
    if (!session.alive) return;
    session.alive = false;
    // Not current yet: it died during #open, which fails and is retried by whoever called it.
    if (this.session !== session) return;
    this.session = null;
    for (const entry of this.consumers) entry.channel = null;
    if (this.closed) return;
    this.logger.warn({ err: err.message }, 'RabbitMQ connection lost; reconnecting');
    // A channel-level loss leaves the connection open: close it so the session is replaced whole.
    session.model
      .close()
      .catch((closeErr: unknown) => this.logger.debug({ err: closeErr }, 'connection already closed'));
    this.reconnect();
  }

  private reconnect(): void {
    if (this.reconnecting || this.closed) return;
    this.reconnecting = this.reconnectLoop().finally(() => {
      this.reconnecting = null;
    });
  }

  private async reconnectLoop(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      await this.sleep(backoffDelay(attempt, this.opts.reconnectInitialMs, this.opts.reconnectMaxMs));
      if (this.closed) return;
      try {
        await this.open();
        this.logger.info({ attempt }, 'reconnected to RabbitMQ');
        return;
      } catch (err) {
        if (this.closed) return;
        // A restart takes ~10 s of refused attempts: say so once, then every 10th try, not on each one.
        const level = attempt === 1 || attempt % 10 === 0 ? 'warn' : 'debug';
        this.logger[level](
          { err: explainConnectError((err as Error)?.message ?? String(err)), attempt },
          'reconnect to RabbitMQ failed; retrying',
        );
      }
    }
  }

  /**
   * A sleep that `close()` can cut short, so no timer outlives the broker.
   * Background reconnect sleeps are unref'd: a lost broker must not keep an
   * otherwise finished process alive.
   */
  private sleep(ms: number, ref = false): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(() => this.stopSleeping(), ms);
      if (!ref) this.sleepTimer.unref();
    });
  }

  private stopSleeping(): void {
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.sleepTimer = null;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
