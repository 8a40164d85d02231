import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RabbitMQBroker } from '../../src/broker/rabbitmq.js';
import type { ChangeEvent } from '../../src/apps/catalog/change-event.js';
import { CatalogConsumer } from '../../src/apps/catalog/consumer.js';
import { EventGenerator } from '../../src/apps/catalog/generator.js';
import { createLogger } from '../../src/logger.js';
import { waitFor } from '../broker/broker-suite.js';
import { createTestVhost, restartService, type TestVhost } from '../helpers/services.js';
import { MemoryCatalog, RecordingPublisher } from './memory-catalog.js';

const logger = createLogger(process.env.HUBCAST_TEST_LOG ?? 'silent');
const IDS = Array.from({ length: 10 }, (_, i) => i + 1);

/**
 * The whole pipeline through a real RabbitMQ restart: generator → RabbitMQ →
 * CatalogConsumer → (in-memory) catalog. Nothing confirmed may be lost,
 * nothing applied twice, and each product's changes land in generation order.
 */
describe('generator and consumer survive a RabbitMQ restart', () => {
  let vhost: TestVhost | undefined;
  after(async () => {
    await vhost?.drop();
  });

  it('every confirmed event is applied exactly once, in per-product order', { timeout: 180_000 }, async () => {
    vhost = await createTestVhost();
    const { url } = vhost;
    const options = { reconnectInitialMs: 100, reconnectMaxMs: 1000, publishTimeoutMs: 3000 };
    const producerBroker = await RabbitMQBroker.connect(url, logger, options);
    const gatewayBroker = await RabbitMQBroker.connect(url, logger, options);

    const catalog = new MemoryCatalog(IDS);
    const publisher = new RecordingPublisher();
    const consumer = new CatalogConsumer({ broker: gatewayBroker, applier: catalog, publisher, logger, prefetch: 16 });
    await consumer.start();

    const generated: ChangeEvent[] = [];
    const resent = new Set<string>();
    const generator = new EventGenerator({
      broker: producerBroker,
      productIds: async () => IDS,
      intervalMs: 1000,
      rate: 50,
      logger,
      onConfirmed: (event, { attempts }) => {
        generated.push(event);
        if (attempts > 1) resent.add(event.event_id);
      },
    });
    await generator.start();
    try {
      await waitFor(
        () => catalog.commits.length,
        (n) => n >= 50,
        20_000,
        'traffic before the restart',
      );
      await restartService('rabbitmq');
      const after = generator.stats().confirmed;
      await waitFor(
        () => generator.stats().confirmed,
        (n) => n >= after + 50,
        60_000,
        'publishing resumed after the restart',
      );
      await waitFor(
        () => catalog.commits.length,
        (n) => n >= after + 50,
        60_000,
        'consuming resumed after the restart',
      );
    } finally {
      const report = await generator.stop();
      assert.deepEqual(report.unconfirmed, [], 'every generated event was confirmed in the end');
      assert.ok(report.failed > 0, 'the restart really interrupted publishing');
    }

    // All confirmed events reach the catalog; then the consumer is stopped.
    await waitFor(
      () => catalog.applied.size,
      (n) => n >= generated.length,
      30_000,
      'all confirmed events applied',
    );
    await consumer.stop();
    await producerBroker.close();
    await gatewayBroker.close();

    const confirmedIds = new Set(generated.map((e) => e.event_id));
    const commitIds = catalog.commits.map((e) => e.event_id);
    assert.equal(new Set(commitIds).size, commitIds.length, 'no event applied twice');
    assert.deepEqual(new Set(commitIds), confirmedIds, 'applied exactly the confirmed events');
    // Redeliveries (unacked at the restart) and resends of unconfirmed events show up as duplicates, never as re-applies.
    const s = consumer.stats();
    assert.equal(s.applied, confirmedIds.size);
    assert.equal(s.deadLettered, 0);

    // Per product, the catalog saw the changes in the order they were generated.
    const generationOrder = new Map<string, number>();
    for (const e of [...generated].sort((a, b) => a.occurred_at.localeCompare(b.occurred_at)))
      generationOrder.set(e.event_id, generationOrder.size);
    for (const id of IDS) {
      const seq = catalog.commits.filter((e) => e.product_id === id).map((e) => generationOrder.get(e.event_id)!);
      assert.deepEqual(
        seq,
        [...seq].sort((a, b) => a - b),
        `product ${id} applied in generation order`,
      );
    }
    logger.info(
      { confirmed: confirmedIds.size, resent: resent.size, duplicates: s.duplicates },
      'restart test summary',
    );
  });
});
