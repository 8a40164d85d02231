import type { Redis } from 'ioredis';
import { ioredis } from '../lazy-deps.js';

/**
 * The acknowledged position of each user on each `ack: true` channel: where
 * a reconnect with `since` — to this node or another — replays from, so what
 * was written but not acknowledged comes again. Kept per user (a connection
 * without a user has only its own `since`).
 */
export interface AckPositions {
  get(userId: string, channel: string): Promise<number | null>;
  set(userId: string, channel: string, id: number): Promise<void>;
  close(): Promise<void>;
}

/** Positions older than this are forgotten (a user gone a week resumes from its own `since`). */
const POSITION_TTL_S = 7 * 86_400;

/** Embedded: one process, a bounded map. */
export class MemoryAckPositions implements AckPositions {
  private readonly map = new Map<string, number>();
  constructor(private readonly max = 100_000) {}

  async get(userId: string, channel: string): Promise<number | null> {
    return this.map.get(`${userId}\u0000${channel}`) ?? null;
  }

  async set(userId: string, channel: string, id: number): Promise<void> {
    const key = `${userId}\u0000${channel}`;
    this.map.delete(key);
    this.map.set(key, id);
    // Oldest-written first out: a bound, not a cache policy.
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }

  async close(): Promise<void> {}
}

/** Cluster: one hash per user in Redis, so every node sees the same position. */
export class RedisAckPositions implements AckPositions {
  private readonly redis: Redis;
  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    this.redis = new (ioredis().Redis)(url, { maxRetriesPerRequest: 1, connectTimeout: 2000, lazyConnect: false });
    this.redis.on('error', () => undefined); // commands reject on their own; the connection retries
  }

  private key(userId: string): string {
    return `${this.prefix}ack:${userId}`;
  }

  async get(userId: string, channel: string): Promise<number | null> {
    const v = await this.redis.hget(this.key(userId), channel);
    return v === null ? null : Number(v);
  }

  async set(userId: string, channel: string, id: number): Promise<void> {
    const key = this.key(userId);
    await this.redis.multi().hset(key, channel, String(id)).expire(key, POSITION_TTL_S).exec();
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
