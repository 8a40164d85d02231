import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  TestServicesError,
  createTestDatabase,
  createTestVhost,
  queueInfo,
  rabbitmqApi,
  redisPrefix,
  serviceUrls,
  startPrivateRedis,
  waitForQueue,
} from './services.js';

describe('serviceUrls', () => {
  it('reads the four URLs from the environment', () => {
    const urls = serviceUrls();
    assert.match(urls.databaseUrl, /^postgres:\/\/.+\/hubcast$/);
    assert.match(urls.redisUrl, /^redis:\/\/127\.0\.0\.1:\d+$/);
    assert.match(urls.brokerUrl, /^amqp:\/\/guest:guest@127\.0\.0\.1:\d+$/);
    assert.match(urls.rabbitmqMgmt, /^http:\/\/guest:guest@127\.0\.0\.1:\d+$/);
  });

  it('throws a coded error naming the missing variable', () => {
    const saved = process.env.HUBCAST_TEST_REDIS_URL;
    delete process.env.HUBCAST_TEST_REDIS_URL;
    try {
      assert.throws(serviceUrls, (err: unknown) => {
        assert.ok(err instanceof TestServicesError);
        assert.equal(err.code, 'services_not_configured');
        assert.match(err.message, /HUBCAST_TEST_REDIS_URL/);
        assert.match(err.message, /services\.sh start/);
        return true;
      });
    } finally {
      process.env.HUBCAST_TEST_REDIS_URL = saved;
    }
  });
});

describe('createTestDatabase', () => {
  it('gives each caller its own empty database and drops it', async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    assert.notEqual(a.name, b.name);
    assert.notEqual(a.url, b.url);

    const ca = new pg.Client({ connectionString: a.url });
    const cb = new pg.Client({ connectionString: b.url });
    await ca.connect();
    await cb.connect();
    try {
      const current = await ca.query<{ db: string }>('select current_database() as db');
      assert.equal(current.rows[0]!.db, a.name);
      await ca.query('create table t (id int primary key)');
      await ca.query('insert into t values (1), (2)');
      assert.equal((await ca.query('select count(*)::int as n from t')).rows[0].n, 2);
      // The other database does not see the table.
      await assert.rejects(cb.query('select 1 from t'), (err: { code?: string }) => err.code === '42P01');
    } finally {
      await cb.end();
    }

    // Dropped even while a client is still connected to it (WITH FORCE).
    const errors: Error[] = [];
    ca.on('error', (err) => errors.push(err));
    const ended = new Promise((resolve) => ca.once('end', resolve));
    await a.drop();
    await ended;
    assert.match(errors[0]?.message ?? '', /terminating connection due to administrator command/);
    await a.drop(); // second call is a no-op
    await b.drop();

    const gone = new pg.Client({ connectionString: a.url });
    await assert.rejects(gone.connect(), (err: { code?: string }) => err.code === '3D000');
    await gone.end().catch(() => undefined);
  });
});

describe('createTestVhost and queueInfo', () => {
  it('creates a usable vhost, reports queue counts and deletes the vhost', async () => {
    const vhost = await createTestVhost();
    after(() => vhost.drop());
    assert.match(vhost.name, /^hubcast-test-/);
    assert.equal(decodeURIComponent(new URL(vhost.url).pathname.slice(1)), vhost.name);

    const conn = await amqp.connect(vhost.url);
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('helpers.q', { durable: true });
      for (let i = 0; i < 3; i++) ch.sendToQueue('helpers.q', Buffer.from(`m${i}`), { persistent: true });
      await ch.waitForConfirms();

      const info = await waitForQueue(vhost, 'helpers.q', (q) => q.messages === 3);
      assert.equal(info.name, 'helpers.q');
      assert.equal(info.vhost, vhost.name);
      assert.equal(info.messages_ready, 3);
      assert.equal(info.messages_unacknowledged, 0);
      assert.equal(info.durable, true);

      // The queue lives in this vhost only.
      assert.equal(await queueInfo('/', 'helpers.q'), null);
      assert.equal(await queueInfo(vhost.name, 'no.such.queue'), null);

      const got = await ch.get('helpers.q', { noAck: true });
      assert.ok(got && got.content.toString() === 'm0');
      await waitForQueue(vhost.name, 'helpers.q', (q) => q.messages === 2);
      await ch.close();
    } finally {
      await conn.close();
    }

    await vhost.drop();
    const res = await rabbitmqApi(`/api/vhosts/${encodeURIComponent(vhost.name)}`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
    await assert.rejects(amqp.connect(vhost.url));
  });

  it('waitForQueue fails with a coded timeout error', async () => {
    const vhost = await createTestVhost();
    after(() => vhost.drop());
    await assert.rejects(
      waitForQueue(vhost, 'never.declared', () => true, { timeoutMs: 200 }),
      (err: unknown) => err instanceof TestServicesError && err.code === 'service_timeout',
    );
  });
});

describe('redisPrefix', () => {
  it('is unique per call and isolates keys on the shared Redis', async () => {
    const prefixes = new Set(Array.from({ length: 100 }, () => redisPrefix()));
    assert.equal(prefixes.size, 100);

    const [p1, p2] = [redisPrefix(), redisPrefix()];
    const redis = new Redis(serviceUrls().redisUrl);
    try {
      await redis.set(`${p1}k`, 'one');
      await redis.set(`${p2}k`, 'two');
      assert.equal(await redis.get(`${p1}k`), 'one');
      assert.equal(await redis.get(`${p2}k`), 'two');
      assert.deepEqual(await redis.keys(`${p1}*`), [`${p1}k`]);
      await redis.del(`${p1}k`, `${p2}k`);
    } finally {
      redis.disconnect();
    }
  });
});

/** The error code of a TCP connect to a loopback port, or 'connected'. */
function connectError(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('startPrivateRedis', () => {
  it('runs a separate Redis that can be killed, restarted and stopped', async () => {
    const priv = await startPrivateRedis();
    after(() => priv.stop());
    assert.equal(priv.url, `redis://127.0.0.1:${priv.port}`);
    assert.notEqual(priv.url, serviceUrls().redisUrl);

    const probe = () => {
      const c = new Redis(priv.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      return c;
    };

    let c = probe();
    await c.connect();
    assert.equal(await c.ping(), 'PONG');
    await c.set('k', 'v');
    c.disconnect();

    await priv.kill();
    assert.equal(await connectError(priv.port), 'ECONNREFUSED');

    await priv.restart();
    c = probe();
    await c.connect();
    assert.equal(await c.get('k'), null, 'a restarted private Redis starts empty');
    c.disconnect();

    await priv.stop();
    await priv.stop(); // idempotent
    assert.equal(await connectError(priv.port), 'ECONNREFUSED');
  });
});
