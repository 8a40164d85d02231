import type { Redis } from 'ioredis';
import { ioredis } from '../lazy-deps.js';
import type { Logger } from '../logger.js';
import type { PresenceStore } from '../hub/presence.js';

/**
 * Cluster-wide presence in Redis: one sorted set per channel
 * (`<prefix>presence:<channel>`), member = the entry, score = when it expires
 * (ms). Heartbeats raise the score; readers ignore expired entries; a sweep
 * removes them one by one (ZREM tells exactly one remover it won, so a
 * crashed node's leave is announced once). Redis 7.0 has no per-field TTL on
 * hashes, hence scores.
 */
export class RedisPresenceStore implements PresenceStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  /** The set itself expires when nobody refreshes anything in it for this long. */
  readonly #keyTtlMs: number;

  constructor(url: string, prefix: string, ttlMs: number, log: Logger) {
    this.#prefix = prefix;
    this.#keyTtlMs = ttlMs * 2;
    // Presence can wait for a reconnect (heartbeats repair what was missed): queue while offline.
    this.#redis = new (ioredis().Redis)(url, { maxRetriesPerRequest: 1, connectTimeout: 2000, enableOfflineQueue: true });
    this.#redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis presence connection error'));
  }

  async put(channel: string, members: string[], expiresAt: number): Promise<void> {
    if (members.length === 0) return;
    const key = this.#key(channel);
    const args: Array<string | number> = [];
    for (const m of members) args.push(expiresAt, m);
    await this.#redis.multi().zadd(key, ...args).pexpire(key, this.#keyTtlMs).exec();
  }

  async remove(channel: string, member: string): Promise<boolean> {
    return (await this.#redis.zrem(this.#key(channel), member)) === 1;
  }

  async list(channel: string, now: number): Promise<string[]> {
    return this.#redis.zrangebyscore(this.#key(channel), `(${now}`, '+inf');
  }

  async sweep(channel: string, now: number): Promise<string[]> {
    const key = this.#key(channel);
    const expired = await this.#redis.zrangebyscore(key, '-inf', now);
    const removed: string[] = [];
    for (const m of expired) if ((await this.#redis.zrem(key, m)) === 1) removed.push(m);
    return removed;
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }

  #key(channel: string): string {
    return `${this.#prefix}presence:${channel}`;
  }
}
