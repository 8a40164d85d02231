/**
 * Competing consumers on the gateway queue (issue 5, scope 2): every gateway node consumes
 * `catalog.gateway`, RabbitMQ's single-active-consumer makes one of them apply, and a node that
 * stops (SIGTERM drain) hands what it holds back in one step, so the next one takes over in queue
 * order. Per product, events are applied in the order they were published, each once.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import amqp from 'amqplib';
import { PRODUCT_CHANGED } from '../../src/broker/broker.js';
import { BrokerErrorCode } from '../../src/broker/errors.js';
import { RabbitMQBroker } from '../../src/broker/rabbitmq.js';
import { encodeChangeEvent, makeChangeEvent, type ChangeEvent } from '../../src/apps/catalog/change-event.js';
import { CatalogConsumer } from '../../src/apps/catalog/consumer.js';
import { createLogger } from '../../src/logger.js';
import { waitFor } from '../broker/broker-suite.js';
import { MemoryCatalog, RecordingPublisher } from '../catalog/memory-catalog.js';
import { createTestVhost, queueInfo, type TestVhost } from '../helpers/services.js';

const logger = createLogger(process.env.HUBCAST_TEST_LOG ?? 'silent');
const IDS = [1, 2, 3, 4, 5];

describe('gateway nodes competing for the catalog queue', () => {
  const vhosts: TestVhost[] = [];
  after(async () => {
    for (const v of vhosts) await v.drop();
  });

  it('one node applies at a time; a stopping node hands over in order, nothing lost or applied twice', {
    timeout: 60_000,
  }, async () => {
    const vhost = await createTestVhost();
    vhosts.push(vhost);
    // One shared catalog, as the nodes share one database; each apply takes a few ms.
    const catalog = new MemoryCatalog(IDS);
    catalog.latencyMs = () => 5;
    const appliedBy = new Map<string, string>();
    // A node past its quota holds its applies until released: the moment a SIGTERM would land,
    // with events in hand and some of them mid-apply.
    const node = async (name: string, quota = Infinity) => {
      const broker = await RabbitMQBroker.connect(vhost.url, logger);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let started = 0;
      const applier = {
        applyChange: async (e: ChangeEvent) => {
          if (++started > quota) await gate;
          const r = await catalog.applyChange(e);
          if (r.status === 'applied') appliedBy.set(e.event_id, name);
          return r;
        },
      };
      const consumer = new CatalogConsumer({
        broker,
        applier,
        publisher: new RecordingPublisher(),
        logger,
        prefetch: 16,
      });
      const held = () => started > quota;
      return { name, broker, consumer, release, held };
    };
    const a = await node('a', 60);
    const b = await node('b', 90);
    const c = await node('c');
    try {
      // The queue is declared by the brokers' topology; fill it, then let the nodes compete.
      const sent: ChangeEvent[] = [];
      await Promise.all(
        Array.from({ length: 300 }, (_, i) => {
          const e = makeChangeEvent({ productId: IDS[i % IDS.length], changes: { stock: i } });
          sent.push(e);
          return a.broker.publish(PRODUCT_CHANGED, encodeChangeEvent(e));
        }),
      );
      // a subscribes first and is the active consumer; b and c wait.
      for (const n of [a, b, c]) await n.consumer.start();
      const info = await waitFor(
        () => queueInfo(vhost, 'catalog.gateway'),
        (q) => q !== null && q.consumers === 3,
        10_000,
        'three consumers',
      );
      assert.equal(info!.arguments['x-single-active-consumer'], true);
      // Stop the active node mid-stream, as a SIGTERM would: it finishes what it is applying and
      // hands the rest back; the next node takes over from there.
      for (const n of [a, b]) {
        await waitFor(
          () => n.held(),
          (h) => h,
          20_000,
          `${n.name} holding events`,
        );
        const stopped = n.consumer.stop();
        n.release();
        await stopped;
        const s = n.consumer.stats();
        assert.equal(s.inFlight, 0, `${n.name}: nothing left in hand`);
        assert.ok(s.retried > 0, `${n.name}: what it had not started went back to the queue (${s.retried})`);
      }
      await waitFor(
        () => catalog.commits.length,
        (n) => n === 300,
        20_000,
        'all applied',
      );

      const names = [...new Set(sent.map((e) => appliedBy.get(e.event_id)))];
      assert.deepEqual(names, ['a', 'b', 'c'], 'a, then b, then c applied: one at a time, in turn');
      for (const id of IDS) {
        const published = sent.filter((e) => e.product_id === id).map((e) => e.event_id);
        const committed = catalog.commits.filter((e) => e.product_id === id).map((e) => e.event_id);
        assert.deepEqual(committed, published, `product ${id}: applied in publish order, each once`);
        assert.equal(catalog.products.get(id)!.version, 1 + published.length);
      }
    } finally {
      for (const n of [a, b, c]) {
        await n.consumer.stop();
        await n.broker.close();
      }
    }
  });

  it('a gateway queue declared without single-active-consumer (an older gateway) fails the start, saying how to fix it', async () => {
    const vhost = await createTestVhost();
    vhosts.push(vhost);
    const conn = await amqp.connect(vhost.url);
    await (await conn.createChannel()).assertQueue('catalog.gateway', { durable: true });
    await conn.close();
    await assert.rejects(
      RabbitMQBroker.connect(vhost.url, logger, { startTimeoutMs: 2000 }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, BrokerErrorCode.misconfigured);
        assert.match(err.message, /x-single-active-consumer/);
        assert.match(err.message, /rabbitmqctl delete_queue catalog\.gateway/);
        return true;
      },
    );
  });
});
