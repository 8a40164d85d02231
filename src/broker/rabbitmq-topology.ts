import type { Channel } from 'amqplib';
import { CATALOG_EXCHANGE, DEAD_LETTER_QUEUE, GATEWAY_QUEUE, PRODUCT_CHANGED } from './broker.js';

/**
 * CONTRACT §2's topology, asserted on every (re)connect: a broker restarted
 * without its definitions, or a queue deleted by an operator, comes back
 * whole. Idempotent; a clashing existing declaration fails with 406.
 */
export async function declareTopology(ch: Channel): Promise<void> {
  await ch.assertExchange(CATALOG_EXCHANGE, 'topic', { durable: true });
  await ch.assertQueue(GATEWAY_QUEUE, { durable: true });
  await ch.bindQueue(GATEWAY_QUEUE, CATALOG_EXCHANGE, PRODUCT_CHANGED);
  await ch.assertQueue(DEAD_LETTER_QUEUE, { durable: true });
}
