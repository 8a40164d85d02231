import type { Options } from 'amqplib';
import { BrokerError, BrokerErrorCode } from './errors.js';
import type { Session } from './rabbitmq-session.js';

/**
 * Publish on the session's confirm channel; resolves when RabbitMQ confirms.
 * Rejects with `timeout` when no confirm comes by `deadline` (a publish bound
 * of `timeoutMs`, named in the message), `nacked` when RabbitMQ refuses the
 * message, `connection_lost` when the session died before confirming.
 */
export function publishWithConfirm(
  session: Session,
  exchange: string,
  routingKey: string,
  body: Buffer,
  props: Options.Publish,
  deadline: number,
  timeoutMs: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(
      () => {
        done = true;
        reject(new BrokerError(BrokerErrorCode.timeout, `no publisher confirm from RabbitMQ within ${timeoutMs} ms`));
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
          new BrokerError(BrokerErrorCode.connectionLost, 'RabbitMQ connection lost before the publish was confirmed', {
            cause: err,
          }),
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
