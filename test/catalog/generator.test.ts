import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { PRODUCT_CHANGED, type Broker } from '../../src/broker/broker.js';
import { BrokerError, BrokerErrorCode } from '../../src/broker/errors.js';
import { MemoryBroker } from '../../src/broker/memory.js';
import { hasAtMostTwoDecimals, parseChangeEvent, type ChangeEvent } from '../../src/apps/catalog/change-event.js';
import { EventGenerator, type EventGeneratorOptions } from '../../src/apps/catalog/generator.js';
import { parseGeneratorArgs } from '../../src/apps/catalog/generator-cli.js';
import { PRICE_MAX, PRICE_MIN, RandomChanges } from '../../src/apps/catalog/random-change.js';
import { createLogger } from '../../src/logger.js';
import { waitFor } from '../broker/broker-suite.js';
import { trackTimers } from '../broker/timers.js';

const logger = createLogger(process.env.HUBCAST_TEST_LOG ?? 'silent');
const IDS = [1, 2, 3, 4, 5];

/**
 * A broker that can be switched off: publishes then fail the way the RabbitMQ
 * driver's do after its bounded wait. Everything else is a real MemoryBroker.
 */
class SwitchableBroker implements Pick<Broker, 'publish'> {
  up = true;
  attempts = 0;
  constructor(readonly inner: MemoryBroker) {}
  async publish(routingKey: string, body: Buffer): Promise<void> {
    this.attempts++;
    await new Promise((r) => setImmediate(r));
    if (!this.up) throw new BrokerError(BrokerErrorCode.unavailable, 'broker is down (test)');
    return this.inner.publish(routingKey, body);
  }
}

/** Collect every message the gateway queue receives, parsed. */
async function collect(broker: MemoryBroker): Promise<ChangeEvent[]> {
  const got: ChangeEvent[] = [];
  await broker.consume((d) => {
    const r = parseChangeEvent(d.body);
    assert.ok(r.ok, r.ok ? '' : `generator produced an invalid event: ${r.reason}`);
    got.push(r.event);
    d.ack();
  });
  return got;
}

describe('EventGenerator', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function make(options: Partial<EventGeneratorOptions> & Pick<EventGeneratorOptions, 'broker'>): EventGenerator {
    const gen = new EventGenerator({ productIds: async () => IDS, intervalMs: 5, logger, ...options });
    cleanups.push(() => gen.stop());
    return gen;
  }

  it('publishes valid change events (docs/protocol.md) for known products', async () => {
    const broker = new MemoryBroker();
    cleanups.push(() => broker.close());
    const got = await collect(broker);
    const gen = make({ broker, intervalMs: 2 });
    await gen.start();
    await waitFor(
      () => got.length,
      (n) => n >= 60,
    );
    for (const e of got) {
      assert.ok(IDS.includes(e.product_id));
      const { price, stock } = e.changes;
      assert.ok(price !== undefined || stock !== undefined);
      if (price !== undefined) {
        assert.ok(price >= PRICE_MIN && price <= PRICE_MAX, `price ${price} in bounds`);
        assert.ok(hasAtMostTwoDecimals(price));
      }
      if (stock !== undefined) assert.ok(Number.isInteger(stock) && stock >= 0);
    }
    assert.equal(new Set(got.map((e) => e.event_id)).size, got.length, 'event ids are unique');
    const report = await gen.stop();
    assert.equal(report.unconfirmed.length, 0);
    assert.equal(report.confirmed, report.sent);
  });

  it('rate mode publishes about `rate` events per second', async () => {
    const broker = new MemoryBroker();
    cleanups.push(() => broker.close());
    const got = await collect(broker);
    const gen = make({ broker, rate: 400 });
    const t0 = Date.now();
    await gen.start();
    await waitFor(
      () => got.length,
      (n) => n >= 200,
    );
    const elapsed = Date.now() - t0;
    await gen.stop();
    const observed = (got.length / elapsed) * 1000;
    assert.ok(observed > 200 && observed < 600, `observed ${observed.toFixed(0)} events/s for rate 400`);
  });

  it('buffers while the broker is down and delivers every event once, in per-product order, when it is back', async () => {
    const inner = new MemoryBroker();
    cleanups.push(() => inner.close());
    const got = await collect(inner);
    const broker = new SwitchableBroker(inner);
    const confirmed: ChangeEvent[] = [];
    const gen = make({ broker, intervalMs: 2, onConfirmed: (e) => confirmed.push(e) });
    await gen.start();
    await waitFor(
      () => got.length,
      (n) => n >= 10,
    );
    broker.up = false;
    await waitFor(
      () => gen.stats(),
      (s) => s.failed >= 3 && s.pending >= 20,
      10_000,
      'events held while down',
    );
    broker.up = true;
    await waitFor(
      () => gen.stats(),
      (s) => s.failed > 0 && s.pending < 5,
      15_000,
      'backlog delivered',
    );
    const report = await gen.stop();
    assert.equal(report.unconfirmed.length, 0);
    assert.equal(report.pending, 0);
    // Confirmed means in the queue; the consumer sees it a moment later.
    await waitFor(
      () => got.length,
      (n) => n >= report.confirmed,
    );
    // Every confirmed event arrived exactly once, and nothing arrived unconfirmed.
    const arrived = got.map((e) => e.event_id);
    assert.equal(new Set(arrived).size, arrived.length, 'no duplicates');
    assert.deepEqual([...arrived].sort(), confirmed.map((e) => e.event_id).sort());
    assert.equal(report.confirmed, arrived.length);
    // Per product, arrival order is generation order (the outbox resends a
    // product's failure before its newer events; products may overtake each other).
    const byProduct = new Map<number, string[]>();
    for (const e of got) byProduct.set(e.product_id, [...(byProduct.get(e.product_id) ?? []), e.occurred_at]);
    for (const [product, times] of byProduct) {
      assert.deepEqual(times, [...times].sort(), `product ${product} in generation order`);
    }
  });

  it('holds at most maxPending events; extra ticks are skipped and counted', async () => {
    const broker = new SwitchableBroker(new MemoryBroker());
    cleanups.push(() => broker.inner.close());
    broker.up = false;
    const gen = make({ broker, intervalMs: 1, maxPending: 5, flushTimeoutMs: 20 });
    await gen.start();
    await waitFor(
      () => gen.stats(),
      (s) => s.skipped >= 10,
    );
    assert.ok(gen.stats().pending <= 5);
    const report = await gen.stop();
    assert.equal(report.confirmed, 0);
    assert.equal(report.unconfirmed.length, report.pending);
    assert.ok(report.unconfirmed.length > 0 && report.unconfirmed.length <= 5);
  });

  it('stop() waits for in-flight confirms before reporting', async () => {
    const inner = new MemoryBroker();
    cleanups.push(() => inner.close());
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: Pick<Broker, 'publish'> = { publish: async (k, b) => gate.then(() => inner.publish(k, b)) };
    const gen = make({ broker: slow, intervalMs: 1 });
    await gen.start();
    await waitFor(
      () => gen.stats(),
      (s) => s.pending >= 3,
    );
    const stopping = gen.stop();
    release();
    const report = await stopping;
    assert.equal(report.pending, 0);
    assert.equal(report.confirmed, report.sent);
    assert.deepEqual(report.unconfirmed, []);
  });

  it('skips ticks when the catalog has no products', async () => {
    const broker = new MemoryBroker();
    cleanups.push(() => broker.close());
    const gen = make({ broker, productIds: async () => [], intervalMs: 1 });
    await gen.start();
    await waitFor(
      () => gen.stats(),
      (s) => s.skipped >= 3,
    );
    assert.equal(gen.stats().sent, 0);
  });

  it('leaves no timers behind after stop()', async () => {
    const broker = new MemoryBroker();
    cleanups.push(() => broker.close());
    const timers = trackTimers();
    try {
      const gen = make({ broker, intervalMs: 1, rate: 50 });
      await gen.start();
      await waitFor(
        () => gen.stats(),
        (s) => s.confirmed >= 2,
      );
      assert.ok(timers.live() > 0);
      await gen.stop();
      timers.freeze();
      // destroy hooks run after the current tick
      await waitFor(
        () => timers.live(),
        (n) => n === 0,
        2000,
        'timers released',
      );
    } finally {
      timers.stop();
    }
  });

  it('refuses a non-positive rate', () => {
    const broker = new MemoryBroker();
    assert.throws(
      () => new EventGenerator({ broker, productIds: async () => IDS, intervalMs: 10, rate: 0, logger }),
      /rate must be a positive number/,
    );
    assert.throws(
      () => new EventGenerator({ broker, productIds: async () => IDS, intervalMs: 10, rate: NaN, logger }),
      /rate must be a positive number/,
    );
  });

  it('publishes with the product.changed routing key', async () => {
    const keys: string[] = [];
    const broker: Pick<Broker, 'publish'> = { publish: async (k) => void keys.push(k) };
    const gen = make({ broker, intervalMs: 1 });
    await gen.start();
    await waitFor(
      () => keys.length,
      (n) => n >= 3,
    );
    assert.ok(keys.every((k) => k === PRODUCT_CHANGED));
  });

  it('realign(ms) ticks after ms instead of a whole interval, then keeps the interval', async () => {
    const at: number[] = [];
    const broker: Pick<Broker, 'publish'> = { publish: async () => void at.push(performance.now()) };
    const gen = make({ broker, intervalMs: 60_000 });
    await gen.start();
    const t0 = performance.now();
    gen.realign(20);
    await waitFor(
      () => at.length,
      (n) => n >= 1,
    );
    assert.ok(at[0] - t0 >= 15 && at[0] - t0 < 5_000, `first tick after ${at[0] - t0} ms`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(at.length, 1, 'the next tick waits a whole interval');
    const report = await gen.stop();
    assert.equal(report.sent, 1);
  });
});

describe('RandomChanges', () => {
  it('walks within bounds, with 2-decimal prices, always changing something', () => {
    const changes = new RandomChanges();
    for (let i = 0; i < 20_000; i++) {
      const c = changes.next(1 + (i % 3));
      assert.ok(c.price !== undefined || c.stock !== undefined);
      if (c.price !== undefined)
        assert.ok(c.price >= PRICE_MIN && c.price <= PRICE_MAX && hasAtMostTwoDecimals(c.price), `price ${c.price}`);
      if (c.stock !== undefined) assert.ok(Number.isInteger(c.stock) && c.stock >= 0);
    }
  });

  it('moves a product price by small steps (a walk, not jumps)', () => {
    const changes = new RandomChanges();
    let last: number | undefined;
    for (let i = 0; i < 500; i++) {
      const p = changes.next(9).price;
      if (p === undefined) continue;
      if (last !== undefined) assert.ok(Math.abs(p - last) <= last * 0.051 + 0.01, `${last} → ${p}`);
      last = p;
    }
  });
});

describe('parseGeneratorArgs', () => {
  it('accepts --rate <n> and --rate=<n>', () => {
    assert.deepEqual(parseGeneratorArgs([]), {});
    assert.deepEqual(parseGeneratorArgs(['--rate', '250']), { rate: 250 });
    assert.deepEqual(parseGeneratorArgs(['--rate=0.5']), { rate: 0.5 });
  });
  const bad: Array<[string[], RegExp]> = [
    [['--rate'], /--rate: expected a value/],
    [['--rate', 'abc'], /--rate: expected a positive number.*"abc"/],
    [['--rate', '0'], /--rate: expected a positive number/],
    [['--rate', '-5'], /--rate: expected a positive number/],
    [['--rate='], /--rate: expected a positive number/],
    [['--rate', 'Infinity'], /--rate: expected a positive number/],
    [['--speed', '3'], /--speed: unknown argument/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${JSON.stringify(argv)}`, () => {
      assert.throws(
        () => parseGeneratorArgs(argv),
        (err: Error) => err.name === 'ConfigError' && message.test(err.message),
      );
    });
  }
});
