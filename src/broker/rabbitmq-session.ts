import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { amqplib } from '../lazy-deps.js';
import type { Logger } from '../logger.js';

/** One live connection with its channels. Replaced wholesale on any loss: partial repair is where bugs live. */
export interface Session {
  readonly model: ChannelModel;
  readonly pub: ConfirmChannel;
  alive: boolean;
}

/**
 * Connect and open the confirm channel publishes go out on, every listener
 * in place: `lost` hears of the connection or that channel going away. A
 * failure closes what was opened and rejects.
 */
export async function openSession(
  url: string,
  logger: Logger,
  lost: (session: Session, err: Error) => void,
): Promise<Session> {
  const model = await amqplib().connect(url, {
    timeout: 5000,
    clientProperties: { connection_name: `hubcast pid ${process.pid}` },
  });
  try {
    // Listeners first: an 'error' without a listener would crash the process.
    model.on('error', (err: Error) => logger.warn({ err: err.message }, 'rabbitmq connection error'));
    model.on('blocked', (reason: string) => logger.warn({ reason }, 'RabbitMQ blocked publishing (resource alarm)'));
    model.on('unblocked', () => logger.info('RabbitMQ unblocked publishing'));
    const pub = await model.createConfirmChannel();
    const session: Session = { model, pub, alive: true };
    model.on('close', (err?: Error) => lost(session, err ?? new Error('connection closed')));
    pub.on('error', (err: Error) => logger.warn({ err: err.message }, 'rabbitmq publish channel error'));
    pub.on('close', () => lost(session, new Error('publish channel closed')));
    return session;
  } catch (err) {
    await closeHalfOpen(model, logger);
    throw err;
  }
}

/** Close a connection whose setup failed; it may already be gone. */
export async function closeHalfOpen(model: ChannelModel, logger: Logger): Promise<void> {
  await model
    .close()
    .catch((closeErr: unknown) => logger.debug({ err: closeErr }, 'closing a half-open connection failed'));
}
