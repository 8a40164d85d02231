/**
 * REDIS_PREFIX covers every Redis key and pub/sub channel a gateway uses: on a
 * Redis of its own, after photos (cache), publishes with an Idempotency-Key
 * (history, idempotency), joins and a product change, a SCAN finds no key
 * outside the prefix.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { Cleanup, TestSql, isolatedServices, pollUntil } from '../helpers/e2e.js';
import { killAll, startHubcast } from '../helpers/processes.js';
import { startPrivateRedis } from '../helpers/services.js';
import { TestWs } from '../helpers/ws-client.js';

const PREFIX = 'prefix-check:';

describe('REDIS_PREFIX', { timeout: 60_000 }, () => {
  const cleanup = new Cleanup();
  after(async () => {
    await killAll();
    await cleanup.run();
  });

  it('every key written and every channel subscribed starts with it', async () => {
    const redis = await startPrivateRedis();
    cleanup.add(() => redis.stop());
    const { vhost, db, env } = await isolatedServices(cleanup);
    const gw = await startHubcast('gateway', { ...env, REDIS_URL: redis.url, REDIS_PREFIX: PREFIX });
    cleanup.add(() => gw.stop());
    const raw = new Redis(redis.url);
    cleanup.add(() => raw.quit());

    // The photo cache: a miss writes the bytes, the repeat is served from Redis.
    assert.equal((await fetch(`${gw.url}/api/products/1/photo`)).headers.get('x-cache'), 'MISS');
    assert.equal((await fetch(`${gw.url}/api/products/1/photo`)).headers.get('x-cache'), 'HIT');

    // A subscriber, a publish with an Idempotency-Key (history, idempotency record), a product change.
    const ws = await TestWs.open(gw.wsUrl);
    cleanup.add(() => ws.close());
    await ws.next((f) => f.type === 'connected');
    assert.equal((await ws.command('join_channel', { channel: 'orders' })).ok, true);
    assert.equal((await ws.command('join_channel', { channel: 'products' })).ok, true);
    const sent = await fetch(`${gw.url}/realtime/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ channel: 'orders', event: 'created', data: { order: 1 } }),
    });
    assert.equal(sent.status, 200);
    await ws.next((f) => f.type === 'event' && f.channel === 'orders');
    const conn = await amqp.connect(vhost.url);
    cleanup.add(() => conn.close().catch(() => undefined));
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange('catalog', 'topic', { durable: true });
    const change = {
      event_id: randomUUID(),
      product_id: 2,
      changes: { stock: 3 },
      occurred_at: new Date().toISOString(),
    };
    ch.publish('catalog', 'product.changed', Buffer.from(JSON.stringify(change)), {
      persistent: true,
      contentType: 'application/json',
    });
    await ch.waitForConfirms();
    await ws.next((f) => f.type === 'event' && f.event === 'product.updated', 10_000);
    const sql = await TestSql.open(db.url);
    cleanup.add(() => sql.close());
    await pollUntil(
      () => sql.product(2),
      (p) => p.stock === 3,
      { what: 'the change applied' },
    );

    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await raw.scan(cursor, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    assert.deepEqual(
      keys.filter((k) => !k.startsWith(PREFIX)),
      [],
      'keys outside the prefix',
    );
    for (const family of ['photo:', 'idem:']) {
      assert.ok(
        keys.some((k) => k.startsWith(PREFIX + family)),
        `a ${family} key among ${JSON.stringify(keys)}`,
      );
    }
    const channels = (await raw.pubsub('CHANNELS')) as string[];
    assert.ok(channels.length > 0, 'the gateway subscribes to its bus');
    assert.deepEqual(
      channels.filter((c) => !c.startsWith(PREFIX)),
      [],
      'channels outside the prefix',
    );
  });
});
