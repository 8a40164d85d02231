import type { Redis } from 'ioredis';
import { ioredis } from '../../lazy-deps.js';
import type { Logger } from 'pino';
import type { Claim, IdempotencyStore, StoredAnswer } from './idempotency.js';

/** How long a claim lives while its request runs: a node that dies mid-publish frees the key. */
const PENDING_TTL_MS = 30_000;

/**
 * Idempotency keys shared by the cluster: `SET key pending NX PX` claims a key
 * atomically on every node at once; the answer replaces it for the window.
 * Value: `<fingerprint>\n<answer JSON or empty while pending>`.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    log: Logger,
  ) {
    // No offline queue: while Redis is away a publish answers 503 at once instead of waiting.
    this.redis = new (ioredis().Redis)(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      retryStrategy: (times: number) => Math.random() * Math.min(2000, 50 * 2 ** Math.min(times, 10)),
      connectionName: 'hubcast-idempotency',
    });
    this.redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis (idempotency keys) connection error'));
  }

  private key(key: string): string {
    return `${this.prefix}idem:${key}`;
  }

  async claim(key: string, fingerprint: string): Promise<Claim> {
    const k = this.key(key);
    const set = await this.redis.set(k, `${fingerprint}\n`, 'PX', PENDING_TTL_MS, 'NX');
    if (set === 'OK') return { state: 'claimed' };
    const value = await this.redis.get(k);
    // Expired between the two calls: treat as running; the client's retry claims it.
    if (value === null) return { state: 'pending' };
    const nl = value.indexOf('\n');
    if (value.slice(0, nl) !== fingerprint) return { state: 'mismatch' };
    const rest = value.slice(nl + 1);
    return rest === '' ? { state: 'pending' } : { state: 'done', answer: JSON.parse(rest) as StoredAnswer };
  }

  async complete(key: string, fingerprint: string, answer: StoredAnswer): Promise<void> {
    await this.redis.set(this.key(key), `${fingerprint}\n${JSON.stringify(answer)}`, 'EX', this.ttlSeconds);
  }

  async release(key: string): Promise<void> {
    await this.redis.del(this.key(key));
  }

  ready(): boolean {
    return this.redis.status === 'ready';
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
