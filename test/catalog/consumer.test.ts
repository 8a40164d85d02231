import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PRODUCT_CHANGED } from '../../src/broker/broker.js';
import { MemoryBroker } from '../../src/broker/memory.js';
import type { ChangeApplier } from '../../src/apps/catalog/applier.js';
import {
  encodeChangeEvent,
  makeChangeEvent,
  type ChangeEvent,
  type ProductChanges,
} from '../../src/apps/catalog/change-event.js';
import { CatalogConsumer, consumerStatsFields, type CatalogConsumerOptions } from '../../src/apps/catalog/consumer.js';
import type { Publisher } from '../../src/hub/publisher.js';
import { createLogger } from '../../src/logger.js';
import { waitFor } from '../broker/broker-suite.js';
import { MemoryCatalog, RecordingPublisher } from './memory-catalog.js';

const logger = createLogger(process.env.HUBCAST_TEST_LOG ?? 'silent');

describe('CatalogConsumer', () => {
  let broker: MemoryBroker;
  let catalog: MemoryCatalog;
  let publisher: RecordingPublisher;
  let consumer: CatalogConsumer;

  async function start(ids: number[], options: Partial<CatalogConsumerOptions> = {}) {
    catalog = new MemoryCatalog(ids);
    consumer = new CatalogConsumer({
      broker,
      applier: catalog,
      publisher,
      logger,
      retryDelayMs: 5,
      retryMaxDelayMs: 20,
      ...options,
    });
    await consumer.start();
  }

  const send = (productId: number, changes: ProductChanges, eventId?: string) => {
    const event = makeChangeEvent({ productId, changes, eventId });
    return broker.publish(PRODUCT_CHANGED, encodeChangeEvent(event)).then(() => event);
  };
  const settledAll = () =>
    waitFor(
      () => broker.depth(),
      (d) => d.ready === 0 && d.unacked === 0,
      10_000,
      'queue drained',
    );

  beforeEach(() => {
    broker = new MemoryBroker({ logger });
    publisher = new RecordingPublisher();
  });
  afterEach(async () => {
    await consumer.stop();
    await broker.close();
  });

  it('applies an event, publishes the new state on products and product:<id>, then acks', async () => {
    await start([1, 2]);
    await send(2, { price: 12.5 });
    await settledAll();
    assert.deepEqual(catalog.products.get(2), { id: 2, price: 12.5, stock: 5, version: 2 });
    assert.deepEqual(
      publisher.published.map((p) => [p.channel, p.event, p.data]),
      [
        ['products', 'product.updated', { id: 2, price: 12.5, stock: 5, version: 2 }],
        ['product:2', 'product.updated', { id: 2, price: 12.5, stock: 5, version: 2 }],
      ],
    );
    assert.deepEqual(consumer.stats(), {
      received: 1,
      applied: 1,
      duplicates: 0,
      deadLettered: 0,
      retried: 0,
      applyErrors: 0,
      publishFailed: 0,
      republished: 0,
      inFlight: 0,
    });
    const fields = consumerStatsFields(consumer.stats());
    assert.equal(fields.events_applied, 1);
    assert.equal(fields.events_dead_lettered, 0);
  });

  it('a duplicated event_id is applied once and published once', async () => {
    await start([1]);
    const id = randomUUID();
    await send(1, { stock: 9 }, id);
    await send(1, { stock: 9 }, id);
    await send(1, { stock: 9 }, id);
    await waitFor(
      () => consumer.stats(),
      (s) => s.received === 3 && s.inFlight === 0,
    );
    await settledAll();
    assert.equal(catalog.commits.length, 1);
    assert.equal(catalog.products.get(1)!.version, 2);
    assert.equal(publisher.on('products').length, 1);
    assert.equal(publisher.on('product:1').length, 1);
    const s = consumer.stats();
    assert.equal(s.applied, 1);
    assert.equal(s.duplicates, 2);
  });

  it("a copy of an applied event_id naming another product announces nothing on that product's channel", async () => {
    // Found by the broker-message fuzz: the duplicate's answer is the first event's product,
    // and it used to be published on product:<the copy's product_id>.
    await start([1, 2]);
    const id = randomUUID();
    await send(1, { stock: 9 }, id);
    await settledAll();
    catalog.products.set(1, { ...catalog.products.get(1)!, version: 3 }); // a later version, not yet announced
    await send(2, { stock: 1 }, id);
    await waitFor(
      () => consumer.stats(),
      (s) => s.duplicates === 1 && s.inFlight === 0,
    );
    assert.deepEqual(publisher.on('product:2'), []);
    assert.deepEqual(
      publisher.on('product:1').map((p) => [p.data.id, p.data.version]),
      [
        [1, 2],
        [1, 3],
      ],
    );
    assert.equal(catalog.products.get(2)!.stock, 5, 'product 2 unchanged');
  });

  it('a malformed event is dead-lettered with the reason and consumption goes on', async () => {
    await start([1]);
    await broker.publish(PRODUCT_CHANGED, Buffer.from('{"event_id": "oops"'));
    await broker.publish(
      PRODUCT_CHANGED,
      Buffer.from(
        JSON.stringify({
          event_id: randomUUID(),
          product_id: 1,
          changes: { price: 1.234 },
          occurred_at: new Date().toISOString(),
        }),
      ),
    );
    await send(1, { stock: 42 });
    await settledAll();
    await waitFor(
      () => consumer.stats(),
      (s) => s.inFlight === 0 && s.deadLettered === 2,
    );
    const dead = broker.deadLetters();
    assert.equal(dead.length, 2);
    assert.match(dead[0].reason, /not valid JSON/);
    assert.equal(dead[0].body.toString(), '{"event_id": "oops"');
    assert.match(dead[1].reason, /changes\.price: must have at most 2 decimal places/);
    assert.equal(catalog.products.get(1)!.stock, 42, 'the valid event after them was applied');
    assert.equal(publisher.published.length, 2, 'nothing published for malformed events');
  });

  it('an unknown product is dead-lettered, not retried', async () => {
    await start([1]);
    await send(999, { stock: 1 });
    await waitFor(
      () => consumer.stats(),
      (s) => s.deadLettered === 1 && s.inFlight === 0,
    );
    assert.match(broker.deadLetters()[0].reason, /unknown product_id 999/);
    assert.equal(catalog.calls, 1);
    assert.equal(publisher.published.length, 0);
  });

  it('a permanent apply error (InvalidChangeError) is dead-lettered', async () => {
    const ids = [1];
    await start(ids);
    const failing: ChangeApplier = {
      applyChange: async () => {
        const err = new Error('changes.price: expected a number > 0');
        err.name = 'InvalidChangeError';
        throw err;
      },
    };
    await consumer.stop();
    consumer = new CatalogConsumer({ broker, applier: failing, publisher, logger });
    await consumer.start();
    await send(1, { price: 3 });
    await waitFor(
      () => consumer.stats(),
      (s) => s.deadLettered === 1,
    );
    assert.match(broker.deadLetters()[0].reason, /change rejected: changes\.price/);
  });

  it('keeps per-product order while applying different products concurrently', async () => {
    const ids = [1, 2, 3, 4, 5, 6, 7, 8];
    await start(ids, { prefetch: 64 });
    // Uneven latency per product (and per call) so a naive concurrent consumer would reorder.
    catalog.latencyMs = (id) => (id % 3) * 2 + Math.floor(Math.random() * 3);
    const perProduct = 25;
    const sent: ChangeEvent[] = [];
    for (let i = 0; i < perProduct; i++) for (const id of ids) sent.push(await send(id, { stock: i }));
    await waitFor(
      () => consumer.stats(),
      (s) => s.applied === sent.length && s.inFlight === 0,
      20_000,
    );
    for (const id of ids) {
      const committed = catalog.commits.filter((e) => e.product_id === id).map((e) => e.changes.stock);
      assert.deepEqual(
        committed,
        Array.from({ length: perProduct }, (_, i) => i),
        `product ${id} applied in order`,
      );
      const announced = publisher.on(`product:${id}`).map((p) => p.data.stock);
      assert.deepEqual(announced, committed, `product ${id} published in order`);
      assert.equal(catalog.products.get(id)!.stock, perProduct - 1);
    }
    assert.ok(catalog.maxConcurrent > 1, `different products ran concurrently (max ${catalog.maxConcurrent})`);
    assert.ok(catalog.maxConcurrent <= ids.length, 'never two applies of one product at once');
  });

  it('retries after a transient failure with a delay, in order, and applies each event once', async () => {
    await start([1, 2], { maxAttempts: 2, retryDelayMs: 20, retryMaxDelayMs: 40 });
    catalog.down = true;
    const a = await send(1, { stock: 1 });
    const b = await send(1, { stock: 2 });
    const c = await send(2, { price: 7 });
    await waitFor(
      () => consumer.stats(),
      (s) => s.retried >= 2,
      10_000,
      'events handed back',
    );
    const callsWhileDown = catalog.calls;
    catalog.down = false;
    await waitFor(
      () => consumer.stats(),
      (s) => s.applied === 3 && s.inFlight === 0,
    );
    await settledAll();
    assert.deepEqual(
      catalog.commits.filter((e) => e.product_id === 1).map((e) => e.event_id),
      [a.event_id, b.event_id],
      'same-product order kept across the outage',
    );
    assert.ok(catalog.commits.some((e) => e.event_id === c.event_id));
    assert.equal(catalog.products.get(1)!.stock, 2);
    assert.equal(publisher.on('product:1').length, 2);
    // Not a hot loop: with ≥ 20 ms between tries, the outage cost a handful of calls, not thousands.
    assert.ok(callsWhileDown < 200, `applier called ${callsWhileDown} times while down`);
    assert.ok(consumer.stats().applyErrors > 0);
  });

  it('dead-letters a poison event that keeps failing while others apply', async () => {
    await start([1, 2], { maxAttempts: 1, retryDelayMs: 1, poisonAfter: 3 });
    const poison = makeChangeEvent({ productId: 1, changes: { price: 5 } });
    catalog.poison.add(poison.event_id);
    await broker.publish(PRODUCT_CHANGED, encodeChangeEvent(poison));
    // Healthy traffic on another product shows the database is up.
    for (let i = 0; i < 40 && consumer.stats().deadLettered === 0; i++) {
      await send(2, { stock: i });
      await waitFor(
        () => consumer.stats(),
        (s) => s.inFlight <= 1,
      );
    }
    await waitFor(
      () => consumer.stats(),
      (s) => s.deadLettered === 1,
    );
    assert.match(broker.deadLetters()[0].reason, /apply failed repeatedly.*numeric field overflow/);
  });

  it('does not strike out events while the database is down for everyone', async () => {
    await start([1], { maxAttempts: 1, retryDelayMs: 1, poisonAfter: 2 });
    catalog.down = true;
    await send(1, { stock: 3 });
    await waitFor(
      () => consumer.stats(),
      (s) => s.applyErrors >= 20,
    );
    catalog.down = false;
    await waitFor(
      () => consumer.stats(),
      (s) => s.applied === 1,
    );
    assert.equal(consumer.stats().deadLettered, 0);
  });

  it('an applied change whose realtime publish fails is handed back unacked, and announced once the hub is back', async () => {
    catalog = new MemoryCatalog([1]);
    let down = true;
    const flaky: Publisher = {
      publish: (...args) => (down ? Promise.reject(new Error('hub down')) : publisher.publish(...args)),
    };
    consumer = new CatalogConsumer({
      broker,
      applier: catalog,
      publisher: flaky,
      logger,
      maxAttempts: 2,
      retryDelayMs: 1,
    });
    await consumer.start();
    await send(1, { stock: 8 });
    // Applied once; the publish keeps failing, so the delivery goes back and comes round as a duplicate.
    await waitFor(
      () => consumer.stats(),
      (s) => s.applied === 1 && s.retried >= 2 && s.duplicates >= 1,
    );
    assert.equal(catalog.commits.length, 1);
    assert.ok(consumer.stats().publishFailed >= 4);
    assert.equal(publisher.published.length, 0);
    down = false;
    await settledAll();
    assert.deepEqual(
      publisher.published.map((p) => [p.channel, p.data.version]),
      [
        ['products', 2],
        ['product:1', 2],
      ],
    );
    assert.equal(consumer.stats().republished, 1);
    assert.equal(catalog.commits.length, 1, 'never applied twice');
  });

  it('stop() drains in-flight work and takes no new deliveries', async () => {
    await start([1, 2, 3]);
    catalog.latencyMs = () => 30;
    for (const id of [1, 2, 3]) await send(id, { stock: 11 });
    await waitFor(
      () => catalog.concurrent,
      (n) => n > 0,
    );
    await consumer.stop();
    const s = consumer.stats();
    assert.equal(s.inFlight, 0, 'nothing left in flight after stop');
    assert.equal(s.applied + s.retried, s.received);
    await send(1, { stock: 99 });
    // After stop the message stays queued for the next consumer.
    await waitFor(
      () => broker.depth(),
      (d) => d.ready >= 1,
    );
    assert.equal(catalog.products.get(1)!.stock === 99, false);
  });
});
