/**
 * Acceptance (issue 3): an event from the generator reaches a `ws` client and
 * an `eventsource` client on `products` and `product:<id>`, and
 * `GET /api/products/:id` then shows the new state, version + 1.
 * Real RabbitMQ, PostgreSQL and Redis; each test on its own database and vhost.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RabbitMQBroker } from '../../src/broker/rabbitmq.js';
import type { ChangeEvent } from '../../src/apps/catalog/change-event.js';
import { EventGenerator } from '../../src/apps/catalog/generator.js';
import { createLogger } from '../../src/logger.js';
import { catalogApp } from '../../src/apps/catalog/app.js';
import { Cleanup, getProduct, pollUntil, isolatedServices } from '../helpers/e2e.js';
import { getJson, startGateway } from '../helpers/gateway.js';
import { killAll, spawnHubcast, startHubcast } from '../helpers/processes.js';
import { TestSse } from '../helpers/sse-client.js';
import { TestWs } from '../helpers/ws-client.js';

const logger = createLogger(process.env.HUBCAST_TEST_LOG ?? 'silent');
const SSE_NAMES = ['system', 'product.updated'];

/** Open an SSE client and wait for its `connected` system event, so nothing published after this is missed. */
async function sse(url: string, channels: string[]): Promise<TestSse> {
  const client = new TestSse(`${url}/realtime/events?channels=${encodeURIComponent(channels.join(','))}`, SSE_NAMES);
  await client.next((e) => e.type === 'system' && JSON.parse(e.data).type === 'connected', 10_000);
  return client;
}

async function ws(wsUrl: string, channels: string[]): Promise<TestWs> {
  const client = await TestWs.open(wsUrl);
  await client.next((f) => f.type === 'connected');
  for (const channel of channels) {
    const reply = await client.command('join_channel', { channel });
    assert.equal(reply.ok, true, `joined ${channel}: ${JSON.stringify(reply)}`);
  }
  return client;
}

const updates = (sseClient: TestSse) =>
  sseClient.events.filter((e) => e.type === 'product.updated').map((e) => JSON.parse(e.data));

describe('generator → RabbitMQ → gateway → PostgreSQL → WS and SSE clients', { timeout: 90_000 }, () => {
  const cleanup = new Cleanup();
  after(async () => {
    await killAll();
    await cleanup.run();
  });

  it('in-process gateway, EventGenerator on its own connection: one event, exact state', async () => {
    const { db, vhost, redis } = await isolatedServices(cleanup);
    const gw = await startGateway(
      { databaseUrl: db.url, brokerUrl: vhost.url, redisUrl: redis.url, redisPrefix: redis.prefix },
      [catalogApp({ withGenerator: false })],
    );
    cleanup.add(() => gw.close());

    const id = 7;
    const before = await getProduct(gw.url, id);
    const wsClient = await ws(gw.wsUrl, ['products', `product:${id}`]);
    cleanup.add(() => wsClient.close());
    const sseAll = await sse(gw.url, ['products']);
    const sseOne = await sse(gw.url, [`product:${id}`]);
    cleanup.add(
      () => sseAll.close(),
      () => sseOne.close(),
    );

    // The real generator, aimed at one product, emitting exactly one event by hand (its timer never fires).
    const broker = await RabbitMQBroker.connect(vhost.url, logger);
    cleanup.add(() => broker.close());
    const confirmed: ChangeEvent[] = [];
    const generator = new EventGenerator({
      broker,
      productIds: async () => [id],
      intervalMs: 3_600_000,
      logger,
      onConfirmed: (e) => confirmed.push(e),
    });
    await generator.start();
    assert.equal(generator.emitOne(), true);
    const report = await generator.stop();
    assert.deepEqual(report.unconfirmed, []);
    assert.equal(confirmed.length, 1);
    const event = confirmed[0];

    const expected = {
      ...before,
      ...(event.changes.price !== undefined ? { price: event.changes.price } : {}),
      ...(event.changes.stock !== undefined ? { stock: event.changes.stock } : {}),
      version: before.version + 1,
    };
    const onProducts = await wsClient.next(
      (f) => f.type === 'event' && f.channel === 'products' && f.event === 'product.updated',
      10_000,
    );
    const onProduct = await wsClient.next(
      (f) => f.type === 'event' && f.channel === `product:${id}` && f.event === 'product.updated',
      10_000,
    );
    const { updated_at: _u, ...expectedState } = expected;
    for (const frame of [onProducts, onProduct]) {
      const { updated_at, ...state } = frame.data;
      assert.deepEqual(state, expectedState);
      assert.ok(Date.parse(updated_at) >= Date.parse(before.updated_at));
      assert.ok(frame.id, 'channel events carry an id');
    }
    const sseProducts = await sseAll.next((e) => e.type === 'product.updated', 10_000);
    const sseProduct = await sseOne.next((e) => e.type === 'product.updated', 10_000);
    assert.deepEqual(JSON.parse(sseProducts.data), onProducts.data);
    assert.deepEqual(JSON.parse(sseProduct.data), onProduct.data);
    assert.ok(sseProducts.lastEventId !== '' && sseProduct.lastEventId !== '', 'SSE events carry an id');

    // Pushed only after the commit: the API already shows exactly the pushed state.
    const { status, body } = await getJson(`${gw.url}/api/products/${id}`);
    assert.equal(status, 200);
    assert.deepEqual(body, onProduct.data);
    assert.equal(body.version, before.version + 1);
    // One event, one update per channel.
    assert.equal(wsClient.events('products').length, 1);
    assert.equal(updates(sseAll).length, 1);
  });

  it('distributed: `hubcast gateway` and `hubcast generator` as separate processes', async () => {
    const { env } = await isolatedServices(cleanup);
    const gw = await startHubcast('gateway', env);
    cleanup.add(() => gw.stop());

    const initial = new Map<number, any>(
      ((await getJson(`${gw.url}/api/products`)).body as any[]).map((p) => [p.id, p]),
    );
    assert.ok(initial.size >= 50, `seeded ≥ 50 products, got ${initial.size}`);
    const productChannels = [...initial.keys()].map((id) => `product:${id}`);
    // The generator picks products at random: listen on every product channel.
    const wsClient = await ws(gw.wsUrl, ['products', ...productChannels]);
    cleanup.add(() => wsClient.close());
    const sseAll = await sse(gw.url, ['products']);
    const sseOne = await sse(gw.url, productChannels);
    cleanup.add(
      () => sseAll.close(),
      () => sseOne.close(),
    );

    const generator = spawnHubcast(['generator'], { ...env, GENERATOR_INTERVAL_MS: '250' });
    cleanup.add(() => generator.stop());
    const first = await wsClient.next(
      (f) => f.type === 'event' && f.channel === 'products' && f.event === 'product.updated',
      20_000,
    );
    const id: number = first.data.id;
    const before = initial.get(id);
    assert.equal(first.data.version, before.version + 1, 'the first change of a product is version + 1');
    assert.equal(first.data.name, before.name);
    assert.equal(first.data.photo_url, before.photo_url);
    assert.ok(first.data.price > 0 && Number.isInteger(Math.round(first.data.price * 100)));
    assert.ok(Number.isInteger(first.data.stock) && first.data.stock >= 0);

    const sameOn = (f: any) =>
      f.type === 'event' && f.channel === `product:${id}` && f.data.version === first.data.version;
    assert.deepEqual((await wsClient.next(sameOn, 10_000)).data, first.data);
    const isFirst = (e: { type: string; data: string }) =>
      e.type === 'product.updated' && JSON.parse(e.data).id === id && JSON.parse(e.data).version === first.data.version;
    assert.deepEqual(JSON.parse((await sseAll.next(isFirst, 10_000)).data), first.data);
    assert.deepEqual(JSON.parse((await sseOne.next(isFirst, 10_000)).data), first.data);

    // SIGTERM: the generator flushes what is pending and exits 0.
    generator.signal('SIGTERM');
    assert.deepEqual(await generator.waitExit(10_000), { code: 0, signal: null });

    // Once the pipeline is drained, the API shows the last state pushed for that product, and
    // its versions went up by exactly one per pushed update.
    const latest = () => wsClient.events(`product:${id}`).at(-1)!.data;
    const shown = await pollUntil(
      () => getProduct(gw.url, id),
      (p) => p.version === latest().version,
      { timeoutMs: 10_000, what: `GET /api/products/${id} to show the last pushed version` },
    );
    assert.deepEqual(shown, wsClient.events(`product:${id}`).find((f) => f.data.version === shown.version)!.data);
    const versions = wsClient.events(`product:${id}`).map((f) => f.data.version);
    assert.deepEqual(
      versions,
      versions.map((_, i) => before.version + 1 + i),
    );
    // Every update went to both channels, in the same order.
    const onProducts = wsClient
      .events('products')
      .filter((f) => f.data.id === id)
      .map((f) => f.data.version);
    assert.deepEqual(onProducts, versions);
  });
});
