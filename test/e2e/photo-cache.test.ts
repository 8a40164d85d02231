/**
 * Acceptance (issue 3): `GET /api/products/:id/photo` — first `X-Cache: MISS`,
 * second `HIT`, identical bytes (really cached in Redis, binary-safe); with
 * Redis stopped the photo is still served. The gateway gets a private Redis,
 * so stopping it disturbs no other test and no earlier run can pre-fill it.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { catalogApp } from '../../src/apps/catalog/app.js';
import { Cleanup, pollUntil } from '../helpers/e2e.js';
import { startGateway } from '../helpers/gateway.js';
import { createTestDatabase, createTestVhost, redisPrefix, startPrivateRedis } from '../helpers/services.js';

interface PhotoAnswer {
  status: number;
  cache: string | null;
  type: string | null;
  etag: string | null;
  bytes: Buffer;
}

async function photo(url: string, id: number, headers: Record<string, string> = {}): Promise<PhotoAnswer> {
  const res = await fetch(`${url}/api/products/${id}/photo`, { headers });
  return {
    status: res.status,
    cache: res.headers.get('x-cache'),
    type: res.headers.get('content-type'),
    etag: res.headers.get('etag'),
    bytes: Buffer.from(await res.arrayBuffer()),
  };
}

/** PNG, JPEG or WebP magic bytes. */
function isImage(b: Buffer): boolean {
  return (
    b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) ||
    (b[0] === 0xff && b[1] === 0xd8) ||
    (b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP')
  );
}

const readyz = async (url: string) => (await fetch(`${url}/readyz`)).status;

describe('product photos cached in Redis', { timeout: 60_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  it('MISS, then HIT with identical bytes; still served while Redis is down', async () => {
    const db = await createTestDatabase();
    cleanup.add(() => db.drop());
    const vhost = await createTestVhost();
    cleanup.add(() => vhost.drop());
    const redis = await startPrivateRedis();
    cleanup.add(() => redis.stop());
    const gw = await startGateway(
      { databaseUrl: db.url, brokerUrl: vhost.url, redisUrl: redis.url, redisPrefix: redisPrefix() },
      [catalogApp({ withGenerator: false })],
    );
    cleanup.add(() => gw.close());
    assert.equal(await readyz(gw.url), 200);

    const first = await photo(gw.url, 1);
    assert.equal(first.status, 200);
    assert.equal(first.cache, 'MISS');
    assert.match(first.type ?? '', /^image\/(png|jpeg|webp)$/);
    assert.ok(first.etag, 'an ETag');
    assert.ok(isImage(first.bytes), 'real image bytes');
    assert.ok(first.bytes.length > 5_000, `a believable photo size (${first.bytes.length} bytes)`);

    const second = await photo(gw.url, 1);
    assert.equal(second.status, 200);
    assert.equal(second.cache, 'HIT');
    assert.ok(second.bytes.equals(first.bytes), 'identical bytes from the cache');
    assert.equal(second.etag, first.etag);
    assert.equal(second.type, first.type);

    // Really in Redis, byte for byte.
    const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    cleanup.add(() => probe.disconnect());
    await probe.connect();
    // Only the photo cache's keys: the gateway keeps others in the same Redis (its live-node entry).
    const keys = await probe.keys('*photo:*');
    assert.equal(keys.length, 1, `one cached photo: ${keys.join(', ')}`);
    assert.ok((await probe.getBuffer(keys[0]))!.equals(first.bytes), 'Redis holds exactly the served bytes');
    assert.ok((await probe.ttl(keys[0])) > 0, 'cached with a TTL');
    probe.disconnect();

    // Another product: its own photo, its own MISS.
    const other = await photo(gw.url, 2);
    assert.equal(other.cache, 'MISS');
    assert.ok(!other.bytes.equals(first.bytes), 'each product has a distinct photo');

    // A conditional GET with the ETag is answered 304 without a body.
    const revalidated = await photo(gw.url, 1, { 'if-none-match': first.etag! });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.bytes.length, 0);

    // Redis gone: still served (from PostgreSQL), and /readyz tells the operator.
    await redis.kill();
    for (const id of [1, 3]) {
      const started = Date.now();
      const down = await photo(gw.url, id);
      assert.equal(down.status, 200, `photo ${id} served with Redis down`);
      assert.equal(down.cache, 'MISS');
      assert.ok(isImage(down.bytes));
      if (id === 1) assert.ok(down.bytes.equals(first.bytes));
      assert.ok(Date.now() - started < 2_000, 'a dead cache costs little latency');
    }
    await pollUntil(
      () => readyz(gw.url),
      (s) => s === 503,
      { what: '/readyz 503 while Redis is down' },
    );

    // Redis back (empty): the gateway reconnects by itself and caches again.
    await redis.restart();
    await pollUntil(
      () => readyz(gw.url),
      (s) => s === 200,
      { timeoutMs: 15_000, what: '/readyz 200 once Redis is back' },
    );
    assert.equal((await photo(gw.url, 1)).cache, 'MISS');
    const cachedAgain = await photo(gw.url, 1);
    assert.equal(cachedAgain.cache, 'HIT');
    assert.ok(cachedAgain.bytes.equals(first.bytes));
  });
});
