import type { Channel } from 'amqplib';
import { CATALOG_EXCHANGE, DEAD_LETTER_QUEUE, GATEWAY_QUEUE, PRODUCT_CHANGED } from './broker.js';

/**
 * The gateway queue's arguments. Every gateway node consumes it, but with
 * single-active-consumer RabbitMQ delivers to one of them at a time (the
 * others wait, and take over when it goes away): round-robin over several
 * nodes would let two nodes apply events of one product concurrently, out of
 * order. One node applies everything; the others fan out to their clients.
 */
export const GATEWAY_QUEUE_ARGUMENTS = Object.freeze({ 'x-single-active-consumer': true });

/**
 * The topology of docs/protocol.md, asserted on every (re)connect: a broker restarted
 * without its definitions, or a queue deleted by an operator, comes back
 * whole. Idempotent; a clashing existing declaration fails with 406.
 */
export async function declareTopology(ch: Channel): Promise<void> {
  await ch.assertExchange(CATALOG_EXCHANGE, 'topic', { durable: true });
  try {
    await ch.assertQueue(GATEWAY_QUEUE, { durable: true, arguments: { ...GATEWAY_QUEUE_ARGUMENTS } });
  } catch (err) {
    // A queue declared by a gateway older than single-active-consumer: RabbitMQ cannot add the
    // argument to an existing queue. Say how to fix it; the message keeps PRECONDITION_FAILED so
    // the start fails as a misconfiguration.
    const message = (err as Error)?.message ?? String(err);
    if (!message.includes('x-single-active-consumer')) throw err;
    throw new Error(
      `${message} — queue ${GATEWAY_QUEUE} was declared without x-single-active-consumer; once it is empty ` +
        `(producers stopped, old gateways drained it), delete it (rabbitmqctl delete_queue ${GATEWAY_QUEUE}) and start the gateways again`,
      { cause: err },
    );
  }
  await ch.bindQueue(GATEWAY_QUEUE, CATALOG_EXCHANGE, PRODUCT_CHANGED);
  await ch.assertQueue(DEAD_LETTER_QUEUE, { durable: true });
}
