import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PRODUCT_CHANGED } from '../../src/broker/broker.js';
import { RabbitMQBroker } from '../../src/broker/rabbitmq.js';
import { encodeChangeEvent, makeChangeEvent, type ChangeEvent } from '../../src/apps/catalog/change-event.js';
import { CatalogConsumer } from '../../src/apps/catalog/consumer.js';
import { createLogger } from '../../src/logger.js';
import { waitFor } from '../broker/broker-suite.js';
import { closeConnections, peekDeadLetters } from '../broker/rabbit-admin.js';
import { createTestVhost, type TestVhost } from '../helpers/services.js';
import { MemoryCatalog, RecordingPublisher } from './memory-catalog.js';

const logger = createLogger(process.env.HUBCAST_TEST_LOG ?? 'silent');
const IDS = [1, 2, 3, 4];

/** The consumer on a real RabbitMQ: real redeliveries, real dead-letter queue. */
describe('CatalogConsumer on RabbitMQ', () => {
  const vhosts: TestVhost[] = [];
  after(async () => {
    for (const v of vhosts) await v.drop();
  });

  async function setup() {
    const vhost = await createTestVhost();
    vhosts.push(vhost);
    const broker = await RabbitMQBroker.connect(vhost.url, logger, { reconnectInitialMs: 50, reconnectMaxMs: 300 });
    const catalog = new MemoryCatalog(IDS);
    const publisher = new RecordingPublisher();
    const consumer = new CatalogConsumer({ broker, applier: catalog, publisher, logger, prefetch: 32 });
    await consumer.start();
    return { vhost, broker, catalog, publisher, consumer };
  }

  it('malformed and unknown-product events land in catalog.dead with their reasons', async () => {
    const { vhost, broker, consumer } = await setup();
    try {
      await broker.publish(PRODUCT_CHANGED, Buffer.from('{"product_id": 1}'));
      await broker.publish(
        PRODUCT_CHANGED,
        encodeChangeEvent(makeChangeEvent({ productId: 77, changes: { stock: 1 } })),
      );
      await broker.publish(
        PRODUCT_CHANGED,
        encodeChangeEvent(makeChangeEvent({ productId: 1, changes: { stock: 1 } })),
      );
      await waitFor(
        () => consumer.stats(),
        (s) => s.deadLettered === 2 && s.applied === 1 && s.inFlight === 0,
      );
      const dead = await peekDeadLetters(vhost.url);
      assert.deepEqual(
        dead.map((d) => d.body),
        ['{"product_id": 1}', dead[1].body],
      );
      assert.match(dead[0].reason, /malformed event: event_id: is required/);
      assert.match(dead[1].reason, /unknown product_id 77/);
    } finally {
      await consumer.stop();
      await broker.close();
    }
  });

  it('a connection loss mid-stream: redeliveries are deduplicated, order per product kept', {
    timeout: 60_000,
  }, async () => {
    const { vhost, broker, catalog, publisher, consumer } = await setup();
    // Applies are frozen until the connection is gone, so a full prefetch window is certainly unacked then.
    let release!: () => void;
    catalog.hold = new Promise((r) => (release = r));
    const sent: ChangeEvent[] = [];
    try {
      for (let i = 0; i < 150; i++) {
        const event = makeChangeEvent({ productId: IDS[i % IDS.length], changes: { stock: i } });
        sent.push(event);
        await broker.publish(PRODUCT_CHANGED, encodeChangeEvent(event));
      }
      await waitFor(
        () => consumer.stats().received,
        (n) => n === 32,
        10_000,
        'prefetch window filled',
      );
      await waitFor(
        () => closeConnections(vhost.name),
        (n) => n > 0,
        10_000,
        'a connection to close',
      );
      await waitFor(
        () => broker.isReady(),
        (r) => !r,
        10_000,
        'the loss noticed',
      );
      catalog.hold = null;
      release();
      await waitFor(
        () => catalog.applied.size,
        (n) => n === sent.length,
        30_000,
        'every event applied',
      );
      await waitFor(
        () => consumer.stats(),
        (s) => s.inFlight === 0,
      );
    } finally {
      await consumer.stop();
      await broker.close();
    }
    const s = consumer.stats();
    assert.ok(s.received > sent.length, `deliveries were redelivered after the loss (received ${s.received})`);
    assert.ok(s.duplicates > 0, 'redeliveries of applied events were recognised as duplicates');
    const ids = catalog.commits.map((e) => e.event_id);
    assert.equal(new Set(ids).size, ids.length, 'nothing applied twice');
    for (const id of IDS) {
      const stocks = catalog.commits.filter((e) => e.product_id === id).map((e) => e.changes.stock!);
      assert.deepEqual(
        stocks,
        [...stocks].sort((a, b) => a - b),
        `product ${id} in order`,
      );
      assert.deepEqual(
        publisher.on(`product:${id}`).map((p) => p.data.stock),
        stocks,
        `product ${id} published once per apply, in order`,
      );
    }
  });
});
