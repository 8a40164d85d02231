/**
 * Acceptance (issue 3): an event published twice with the same `event_id`
 * (plain amqplib, exchange `catalog`, routing key `product.changed`,
 * persistent) changes the product once: version + 1 once, one
 * `product.updated` to clients, one applied_events row.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { catalogApp } from '../../src/apps/catalog/app.js';
import {
  Cleanup,
  TestProducer,
  TestSql,
  changeEvent,
  gatewayStats,
  getProduct,
  pollUntil,
  isolatedServices,
} from '../helpers/e2e.js';
import { startGateway } from '../helpers/gateway.js';
import { queueInfo } from '../helpers/services.js';
import { TestSse } from '../helpers/sse-client.js';
import { TestWs } from '../helpers/ws-client.js';

describe('duplicated event_id', { timeout: 60_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  it('is applied once and announced once', async () => {
    const { db, vhost, redis } = await isolatedServices(cleanup);
    const gw = await startGateway(
      { databaseUrl: db.url, brokerUrl: vhost.url, redisUrl: redis.url, redisPrefix: redis.prefix },
      [catalogApp({ withGenerator: false })],
    );
    cleanup.add(() => gw.close());
    const sql = await TestSql.open(db.url);
    cleanup.add(() => sql.close());
    const producer = await TestProducer.open(vhost.url);
    cleanup.add(() => producer.close());

    const id = 3;
    const before = await getProduct(gw.url, id);
    const ws = await TestWs.open(gw.wsUrl);
    cleanup.add(() => ws.close());
    await ws.next((f) => f.type === 'connected');
    assert.equal((await ws.command('join_channel', { channel: `product:${id}` })).ok, true);
    assert.equal((await ws.command('join_channel', { channel: 'products' })).ok, true);
    const sse = new TestSse(`${gw.url}/realtime/events?channels=product:${id}`, ['system', 'product.updated']);
    cleanup.add(() => sse.close());
    await sse.next((e) => e.type === 'system', 10_000);

    const event = changeEvent(id, { stock: before.stock + 17, price: 12.34 });
    await producer.publish(event);
    await producer.publish(event); // same bytes, same event_id: a producer's retry after a lost confirm

    const stats = await pollUntil(
      () => gatewayStats(gw.url),
      (s) => s.events_received === 2 && s.events_in_flight === 0,
      { what: 'both deliveries settled' },
    );
    assert.equal(stats.events_applied, 1);
    assert.equal(stats.events_duplicate, 1);
    assert.equal(stats.events_dead_lettered, 0);

    // Both acked: nothing left on the gateway queue (management counters lag: poll).
    await pollUntil(
      () => queueInfo(vhost, 'catalog.gateway'),
      (q) => q !== null && q.messages === 0,
      { what: 'catalog.gateway empty' },
    );

    // A later event of the same product is a marker: per-product order means a second
    // product.updated for the duplicate, had there been one, would have arrived before it.
    const marker = changeEvent(id, { stock: before.stock + 18 });
    await producer.publish(marker);
    await ws.next(
      (f) => f.type === 'event' && f.channel === `product:${id}` && f.data.version === before.version + 2,
      10_000,
    );
    await ws.next(
      (f) => f.type === 'event' && f.channel === 'products' && f.data.version === before.version + 2,
      10_000,
    );
    await sse.count(2, (e) => e.type === 'product.updated', 10_000);

    const versions = (channel: string) => ws.events(channel).map((f) => f.data.version);
    assert.deepEqual(
      versions(`product:${id}`),
      [before.version + 1, before.version + 2],
      'one update for the duplicated event, one for the marker',
    );
    assert.deepEqual(versions('products'), [before.version + 1, before.version + 2]);
    const sseVersions = sse.events.filter((e) => e.type === 'product.updated').map((e) => JSON.parse(e.data).version);
    assert.deepEqual(sseVersions, [before.version + 1, before.version + 2]);
    const first = ws.events(`product:${id}`)[0].data;
    assert.equal(first.stock, before.stock + 17);
    assert.equal(first.price, 12.34);

    assert.equal(await sql.appliedCount(event.event_id), 1);
    assert.equal((await sql.product(id)).version, before.version + 2);
    assert.equal((await getProduct(gw.url, id)).version, before.version + 2);
  });
});
