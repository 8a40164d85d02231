/**
 * Small black-box tools for end-to-end tests: a producer that publishes with
 * plain amqplib (as any foreign service would), a reader for `catalog.dead`,
 * SQL probes on a test database, and polling on a condition.
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createTestDatabase, createTestVhost, redisPrefix, serviceUrls } from './services.js';

/** Poll `get` until `pred` holds for its value; returns that value. Rejects with the last value after `timeoutMs`. */
export async function pollUntil<T>(
  get: () => T | Promise<T>,
  pred: (value: T) => boolean,
  {
    timeoutMs = 10_000,
    intervalMs = 50,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (pred(value)) return value;
    if (Date.now() >= deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(value)?.slice(0, 500)}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface ChangeEventBody {
  event_id: string;
  product_id: number;
  changes: { price?: number; stock?: number };
  occurred_at: string;
}

/** A valid change event body as docs/protocol.md spells it. */
export function changeEvent(
  productId: number,
  changes: ChangeEventBody['changes'],
  eventId: string = randomUUID(),
): ChangeEventBody {
  return { event_id: eventId, product_id: productId, changes, occurred_at: new Date().toISOString() };
}

/**
 * A producer on a confirm channel: publishes to exchange `catalog`, routing key
 * `product.changed`, persistent, and resolves once RabbitMQ confirmed.
 */
export class TestProducer {
  private constructor(
    private readonly conn: amqp.ChannelModel,
    private readonly ch: amqp.ConfirmChannel,
  ) {}

  static async open(url: string): Promise<TestProducer> {
    const conn = await amqp.connect(url);
    try {
      const ch = await conn.createConfirmChannel();
      // Same declaration as the gateway's: idempotent, and a publish before the gateway ever ran still routes nowhere harmful.
      await ch.assertExchange('catalog', 'topic', { durable: true });
      return new TestProducer(conn, ch);
    } catch (err) {
      await conn.close();
      throw err;
    }
  }

  async publish(body: unknown, options: amqp.Options.Publish = {}): Promise<void> {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.ch.publish('catalog', 'product.changed', bytes, {
      persistent: true,
      contentType: 'application/json',
      ...options,
    });
    await this.ch.waitForConfirms();
  }

  async close(): Promise<void> {
    await this.conn.close().catch(() => undefined); // already closed by the broker (vhost dropped)
  }
}

export interface DeadLetter {
  body: string;
  headers: Record<string, unknown>;
}

/** Take every message from `catalog.dead` (the test owns the vhost, so consuming is fine). */
export async function drainDeadLetters(url: string): Promise<DeadLetter[]> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    const out: DeadLetter[] = [];
    for (;;) {
      const msg = await ch.get('catalog.dead', { noAck: true });
      if (msg === false) break;
      out.push({ body: msg.content.toString('utf8'), headers: msg.properties.headers ?? {} });
    }
    return out;
  } finally {
    await conn.close();
  }
}

/** A pg client on a test database with the few reads the tests need. */
export class TestSql {
  private constructor(readonly client: pg.Client) {}

  static async open(url: string): Promise<TestSql> {
    const client = new pg.Client({ connectionString: url });
    // The database may be dropped (WITH FORCE) while we are connected: not an uncaught error.
    client.on('error', () => undefined);
    await client.connect();
    return new TestSql(client);
  }

  async product(id: number): Promise<{ id: number; price: string; stock: number; version: number }> {
    const { rows } = await this.client.query(
      'SELECT id, price::text AS price, stock, version::int AS version FROM products WHERE id = $1',
      [id],
    );
    return rows[0];
  }

  /** How many times an event_id is recorded as applied. */
  async appliedCount(eventId: string): Promise<number> {
    const { rows } = await this.client.query(
      'SELECT count(*)::int AS n FROM applied_events WHERE event_id = $1::uuid',
      [eventId],
    );
    return rows[0].n;
  }

  async appliedIds(): Promise<string[]> {
    const { rows } = await this.client.query<{ id: string }>('SELECT event_id::text AS id FROM applied_events');
    return rows.map((r) => r.id);
  }

  /** Sum over products of (version − 1): every applied change bumps exactly one version by one. */
  async versionBumps(): Promise<number> {
    const { rows } = await this.client.query('SELECT coalesce(sum(version - 1), 0)::int AS n FROM products');
    return rows[0].n;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

/** `GET /realtime/stats` of a gateway. */
export async function gatewayStats(url: string): Promise<Record<string, number>> {
  const res = await fetch(`${url}/realtime/stats`);
  if (!res.ok) throw new Error(`GET /realtime/stats: HTTP ${res.status}`);
  return (await res.json()) as Record<string, number>;
}

export async function getProduct(url: string, id: number): Promise<any> {
  const res = await fetch(`${url}/api/products/${id}`);
  if (res.status !== 200) throw new Error(`GET /api/products/${id}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Teardown steps run in reverse order of registration, every one of them even
 * when an earlier one fails (a dropped vhost must not leave a database or a
 * child process behind); the failures are rethrown together at the end.
 *
 * @example
 * const cleanup = new Cleanup();
 * after(() => cleanup.run());
 * const db = await createTestDatabase();
 * cleanup.add(() => db.drop());
 */
export class Cleanup {
  private readonly steps: Array<() => unknown> = [];

  add(...steps: Array<() => unknown>): void {
    this.steps.push(...steps);
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanup steps failed`);
  }
}

/** Delete every key under a prefix on the shared Redis (bus history, id sequence) once a test is done with it. */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * A unique REDIS_PREFIX on the shared Redis, its keys deleted at cleanup.
 * Gateways sharing a prefix form one cluster (one bus, one history): a test's
 * gateways share one prefix, and no other test's.
 */
export function sharedRedis(cleanup: Cleanup): { url: string; prefix: string } {
  const url = serviceUrls().redisUrl;
  const prefix = redisPrefix();
  cleanup.add(() => dropRedisPrefix(url, prefix));
  return { url, prefix };
}

/**
 * A fresh database, vhost and Redis namespace for one test, dropped by
 * `cleanup`, and the gateway environment that points at them.
 */
export async function isolatedServices(cleanup: Cleanup) {
  const db = await createTestDatabase();
  cleanup.add(() => db.drop());
  const vhost = await createTestVhost();
  cleanup.add(() => vhost.drop());
  const redis = sharedRedis(cleanup);
  const env = { DATABASE_URL: db.url, BROKER_URL: vhost.url, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix };
  return { db, vhost, redis, env };
}
