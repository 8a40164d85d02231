/**
 * The Redis bus's subscribe connection dropping again and again — including
 * while it is re-subscribing, and while the bus closes — never surfaces as an
 * unhandled rejection (which ends a Node process), and the bus ends up
 * subscribed and delivering. Real Redis; the drops are CLIENT KILLs aimed at
 * the connection by its name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { RedisBus } from '../../src/bus/redis.js';
import type { BusPublication } from '../../src/bus/bus.js';
import { RetentionPolicy } from '../../src/hub/retention.js';
import { createLogger } from '../../src/logger.js';
import { redisPrefix, startPrivateRedis } from '../helpers/services.js';
import { waitFor } from '../helpers/gateway.js';

async function killByName(admin: Redis, name: string): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  let killed = 0;
  for (const line of list.split('\n')) {
    if (!line.includes(` name=${name} `)) continue;
    await admin.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]).catch(() => undefined); // may be gone already
    killed++;
  }
  return killed;
}

test('a subscribe connection killed over and over, even mid-resubscribe, ends up subscribed and throws nothing', async () => {
  const redis = await startPrivateRedis();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const admin = new Redis(redis.url);
  const retention = RetentionPolicy.parse(undefined, { count: 100, maxAgeMs: 0 });
  const log = createLogger('silent');
  const buses: RedisBus[] = [];
  try {
    const publisher = new RedisBus(redis.url, log, { nodeId: 'storm-pub', prefix: redisPrefix(), retention });
    buses.push(publisher);
    await publisher.start();
    const prefix = (publisher as unknown as { prefix: string }).prefix;
    const subscriber = new RedisBus(redis.url, log, { nodeId: 'storm-sub', prefix, retention });
    buses.push(subscriber);
    await subscriber.start();
    const got: BusPublication[] = [];
    let gaps = 0;
    subscriber.onPublication((p) => got.push(p));
    subscriber.onGap(() => gaps++);

    // One kill every few milliseconds for a second: many land while the
    // connection is handshaking or its SUBSCRIBE is in flight.
    let kills = 0;
    const until = Date.now() + 1000;
    while (Date.now() < until) {
      kills += await killByName(admin, 'hubcast-storm-sub-bus-sub');
      await new Promise((r) => setTimeout(r, 2 + Math.random() * 8));
    }
    // Reconnects back off (up to 2 s after repeated failures), so how many kills land in the
    // second depends on timing; a few are enough to cross re-subscribes in flight.
    assert.ok(kills >= 3, `the storm landed (${kills} kills)`);
    await waitFor(() => subscriber.isReady(), 10_000, 'the bus reconnects after the storm');
    assert.ok(gaps >= 1, 'each reconnect is reported as a gap for the hub to catch up');

    // Subscribed again: a publication after the storm arrives.
    await waitFor(
      async () => {
        await publisher.publish('storm:a', 'after', '"x"', false);
        return got.some((p) => p.channel === 'storm:a');
      },
      10_000,
      'a publication after the storm is received',
    );

    await subscriber.close();
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await Promise.all(buses.map((b) => b.close()));
    await admin.quit();
    await redis.stop();
  }
});

/**
 * A TCP relay to Redis that can stop passing Redis's answers on: with it a
 * SUBSCRIBE is certain to be unanswered when the bus closes.
 */
async function relayTo(port: number): Promise<{ url: string; holdReplies: () => void; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let holding = false;
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (!holding) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    holdReplies: () => {
      holding = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

test('closing the bus while its re-subscribe is unanswered throws nothing', async () => {
  const redis = await startPrivateRedis();
  const relay = await relayTo(Number(new URL(redis.url).port));
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const admin = new Redis(redis.url);
  const bus = new RedisBus(relay.url, createLogger('silent'), {
    nodeId: 'closing',
    prefix: redisPrefix(),
    retention: RetentionPolicy.parse(undefined, { count: 100, maxAgeMs: 0 }),
  });
  try {
    await bus.start();
    // Back after a drop: the SUBSCRIBE has just been sent; its answer is
    // held back, and the bus closes with it outstanding.
    const subConnection = (bus as unknown as { sub: Redis }).sub;
    const closed = new Promise<void>((resolve) =>
      subConnection.once('ready', () => {
        relay.holdReplies();
        void bus.close().then(resolve);
      }),
    );
    assert.equal(await killByName(admin, 'hubcast-closing-bus-sub'), 1);
    await closed;
    await new Promise((r) => setTimeout(r, 100)); // a rejection is reported after the turn it happens in
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await bus.close();
    await admin.quit();
    await relay.close();
    await redis.stop();
  }
});
