import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { Broker } from './broker.js';
import { MemoryBroker } from './memory.js';
import { RabbitMQBroker, type RabbitMQOptions } from './rabbitmq.js';

export * from './broker.js';
export { BrokerError, BrokerErrorCode } from './errors.js';
export { MemoryBroker, type DeadLetter } from './memory.js';
export { RabbitMQBroker, type RabbitMQOptions } from './rabbitmq.js';

/**
 * The broker for this process, chosen once at boot: RabbitMQ when
 * `BROKER_URL` is an `amqp://`/`amqps://` URL, the in-process broker when it
 * is unset. Rejects (a `BrokerError`) when RabbitMQ refuses the credentials or
 * vhost, or stays unreachable for `startTimeoutMs`.
 *
 * @example
 * const broker = await createBroker(config, logger);
 */
export async function createBroker(
  config: Pick<Config, 'brokerUrl'>,
  logger: Logger,
  options: RabbitMQOptions = {},
): Promise<Broker> {
  const url = config.brokerUrl;
  if (url === undefined) return new MemoryBroker({ logger: logger.child({ component: 'broker', driver: 'memory' }) });
  const protocol = new URL(url).protocol;
  if (protocol === 'amqp:' || protocol === 'amqps:') return RabbitMQBroker.connect(url, logger, options);
  // The config schema already refuses other schemes; this guards callers that build configs by hand.
  throw new Error(`BROKER_URL: unsupported scheme ${protocol} (expected amqp:// or amqps://)`);
}
