/**
 * Redis trouble must cost bounded latency and nothing else: commands reject
 * quickly, nothing hangs, nothing crashes, close() returns. Uses real sockets:
 * a port nobody listens on, and a server that accepts but never answers.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { createCache } from '../../src/cache/index.js';
import { RedisCache } from '../../src/cache/redis.js';

const silent = pino({ level: 'silent' });

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** A port that was just free: bind port 0, note it, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((r) => server.close(r));
  return port;
}

const sockets = new Set<Socket>();
const blackHole = createServer((s) => {
  sockets.add(s);
  s.on('error', () => {});
}); // accepts, reads, never replies
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => blackHole.close(r));
});

test('nobody listening: not ready, get/set reject fast, close returns', async () => {
  const cache = new RedisCache(`redis://127.0.0.1:${await closedPort()}`, silent);
  try {
    assert.equal(cache.isReady(), false);
    const started = performance.now();
    await assert.rejects(cache.get('k'));
    await assert.rejects(cache.set('k', Buffer.from('v'), 10));
    // Waiting for a connection would take the command timeout (500 ms) for each.
    assert.ok(performance.now() - started < 400, 'no waiting for a connection');
    assert.equal(await cache.waitReady(300), false);
  } finally {
    await cache.close();
  }
});

test('a server that never answers: commands still reject within the timeout', async () => {
  const port = await listen(blackHole);
  const cache = new RedisCache(`redis://127.0.0.1:${port}`, silent, { commandTimeoutMs: 200 });
  try {
    const started = performance.now();
    await assert.rejects(cache.get('k'));
    assert.ok(performance.now() - started < 1000);
    assert.equal(cache.isReady(), false);
  } finally {
    await cache.close();
  }
});

test('createCache with an unreachable REDIS_URL starts anyway, not ready', async () => {
  const started = performance.now();
  const cache = await createCache({ redisUrl: `redis://127.0.0.1:${await closedPort()}` }, silent, {
    connectWaitMs: 300,
  });
  try {
    assert.equal(cache.driver, 'redis');
    assert.equal(cache.isReady(), false);
    assert.ok(performance.now() - started < 2000);
  } finally {
    await cache.close();
  }
});
