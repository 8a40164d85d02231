import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConsumeMessage } from 'amqplib';
import type { Broker, BrokerDelivery, DeliveryHandler } from '../../src/broker/broker.js';
import { RabbitDelivery, type ConsumerEntry, type DeliveryOwner } from '../../src/broker/rabbitmq-delivery.js';
import type { ApplyResult, ChangeApplier } from '../../src/apps/catalog/applier.js';
import { encodeChangeEvent, makeChangeEvent, type ChangeEvent } from '../../src/apps/catalog/change-event.js';
import { CatalogConsumer } from '../../src/apps/catalog/consumer.js';
import { RecordingPublisher } from './memory-catalog.js';
import { silent } from './fixture.js';

function amqpMessage(properties: Record<string, unknown>): ConsumeMessage {
  return {
    content: Buffer.from('{}'),
    fields: {
      routingKey: 'product.changed',
      redelivered: false,
      deliveryTag: 1,
      exchange: 'catalog',
      consumerTag: 't',
    },
    properties: { headers: {}, ...properties },
  } as unknown as ConsumeMessage;
}

test('a RabbitMQ delivery carries the message-id and app-id properties as messageId and producer', () => {
  const owner = {} as DeliveryOwner;
  const entry = {} as ConsumerEntry;
  const withIds = new RabbitDelivery(
    owner,
    entry,
    {} as never,
    amqpMessage({ messageId: 'order-77', appId: 'pricing-service' }),
    silent,
  );
  assert.deepEqual([withIds.messageId, withIds.producer], ['order-77', 'pricing-service']);
  const without = new RabbitDelivery(
    owner,
    entry,
    {} as never,
    amqpMessage({ messageId: undefined, appId: '' }),
    silent,
  );
  assert.deepEqual([without.messageId, without.producer], [undefined, undefined]);
});

test("the consumer hands the delivery's provenance to the applier as event.source", async () => {
  let deliver!: DeliveryHandler;
  const broker = {
    driver: 'memory',
    publish: async () => {},
    consume: async (handler: DeliveryHandler) => {
      deliver = handler;
      return { cancel: async () => {} };
    },
    isReady: () => true,
    close: async () => {},
  } as Broker;
  const seen: ChangeEvent[] = [];
  const applier: ChangeApplier = {
    applyChange: async (e): Promise<ApplyResult> => {
      seen.push(e);
      return { status: 'applied', product: { id: e.product_id, version: seen.length + 1 } };
    },
  };
  const consumer = new CatalogConsumer({ broker, applier, publisher: new RecordingPublisher(), logger: silent });
  await consumer.start();
  const acked: boolean[] = [];
  const delivery = (messageId?: string, producer?: string): BrokerDelivery => ({
    body: encodeChangeEvent(makeChangeEvent({ productId: 3, changes: { stock: 1 } })),
    routingKey: 'product.changed',
    redelivered: false,
    messageId,
    producer,
    ack: () => void acked.push(true),
    deadLetter: async () => {},
    retry: () => {},
  });
  deliver(delivery('m-1', 'shop'));
  deliver(delivery());
  for (let i = 0; i < 1000 && acked.length < 2; i++) await new Promise((r) => setImmediate(r));
  await consumer.stop();
  assert.deepEqual(
    seen.map((e) => e.source),
    [{ message_id: 'm-1', producer: 'shop' }, undefined],
  );
});
