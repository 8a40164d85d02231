import type { Options } from 'amqplib';
import type { Logger } from '../logger.js';
import {
  CATALOG_EXCHANGE,
  DEFAULT_PREFETCH,
  type Broker,
  type CancelOptions,
  type ConsumeOptions,
  type Consumption,
  type DeliveryHandler,
} from './broker.js';
import { publishWithConfirm } from './rabbitmq-confirm.js';
import { RabbitConsumers } from './rabbitmq-consumers.js';
import { closeHalfOpen, openSession, type Session } from './rabbitmq-session.js';
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

/**
 * RabbitMQ driver. Declares the topology (docs/protocol.md, rabbitmq-topology.ts)
 * on every connect, publishes on a confirm channel (rabbitmq-confirm.ts),
 * consumes with manual ack (rabbitmq-consumers.ts), and reconnects with
 * full-jitter backoff when the connection or a channel is lost, replacing the
 * session (rabbitmq-session.ts) whole and resuming every consumer. Use
 * `RabbitMQBroker.connect`, which fails loudly on bad credentials or vhost and
 * waits (bounded) for a broker that is still starting.
 *
 * @example
 * const broker = await RabbitMQBroker.connect('amqp://guest:guest@127.0.0.1:5672', logger);
 * await broker.publish('product.changed', Buffer.from(JSON.stringify(event)));
 */
export class RabbitMQBroker implements Broker {
  readonly driver = 'rabbitmq' as const;
  private readonly url: string;
  private readonly shownUrl: string;
  private readonly logger: Logger;
  private readonly opts: Required<RabbitMQOptions>;
  private readonly consumers: RabbitConsumers;
  private readonly waiters: Waiters<Session>;
  private session: Session | null = null;
  private closed = false;
  private reconnecting: Promise<void> | null = null;
  private sleepTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  /** What the session's and the consumers' listeners call on a loss: one function for the broker's life. */
  private readonly lostBound = (session: Session, err: Error): void => this.lost(session, err);

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
    this.consumers = new RabbitConsumers(this, this.logger, this.lostBound);
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
    const entry = this.consumers.add(handler, options.prefetch ?? DEFAULT_PREFETCH);
    // Not connected right now: the reconnect starts it.
    const session = this.session;
    if (session) {
      try {
        await this.consumers.start(session, entry);
      } catch (err) {
        // The connection went away meanwhile (or the channel failed): replace the session; the reconnect resumes this consumer.
        this.lost(session, err instanceof Error ? err : new Error(String(err)));
      }
    }
    return {
      cancel: (cancelOptions?: CancelOptions) => this.consumers.cancel(entry, cancelOptions?.returnUnsettled === true),
    };
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
    if (this.session)
      return publishWithConfirm(this.session, exchange, routingKey, body, props, deadline, this.opts.publishTimeoutMs);
    return this.waiters
      .wait(
        this.opts.publishTimeoutMs,
        () =>
          new BrokerError(
            BrokerErrorCode.unavailable,
            `RabbitMQ at ${this.shownUrl} is not connected (waited ${this.opts.publishTimeoutMs} ms)`,
          ),
      )
      .then((session) =>
        publishWithConfirm(session, exchange, routingKey, body, props, deadline, this.opts.publishTimeoutMs),
      );
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
    const session = await openSession(this.url, this.logger, this.lostBound);
    try {
      await declareTopology(session.pub);
      await this.consumers.startAll(session);
      if (this.closed) throw new BrokerError(BrokerErrorCode.closed, 'broker was closed while connecting');
      if (!session.alive) throw new Error('connection lost during setup');
      this.session = session;
      this.waiters.resolveAll(session);
    } catch (err) {
      session.alive = false;
      await closeHalfOpen(session.model, this.logger);
      throw err;
    }
    // consume() calls that arrived during the setup above, after its loop had passed. The session is
    // current now, so a failure here is an ordinary loss (#lost reconnects), not a failed open.
    try {
      await this.consumers.startAll(session);
    } catch (err) {
      this.lost(session, err instanceof Error ? err : new Error(String(err)));
    }
  }

  private lost(session: Session, err: Error): void {
    if (!session.alive) return;
    session.alive = false;
    // Not current yet: it died during #open, which fails and is retried by whoever called it.
    if (this.session !== session) return;
    this.session = null;
    this.consumers.detachAll();
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
