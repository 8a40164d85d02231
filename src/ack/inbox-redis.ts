import type { Redis } from 'ioredis';
import { ioredis } from '../lazy-deps.js';
import type { InboxEntry, InboxOptions, InboxStats, InboxStore } from './inbox.js';

/**
 * Cluster inbox: one sorted set per user in Redis, scored by event id, so
 * any node delivers it in id order and a cumulative ack is one range delete.
 * Bounded per user (ZREMRANGEBYRANK after each push) and in age (the key
 * expires INBOX_TTL_S after its last push; older members are skipped and
 * removed on read). With Redis persistence on, it outlives a Redis restart.
 */
export class RedisInbox implements InboxStore {
  private readonly redis: Redis;
  private readonly max: number;
  private readonly ttlS: number;
  private pushed = 0;
  private acked = 0;

  constructor(
    url: string,
    private readonly prefix: string,
    options: InboxOptions,
  ) {
    this.max = options.max;
    this.ttlS = options.ttlS;
    this.redis = new (ioredis().Redis)(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
    this.redis.on('error', () => undefined); // commands reject on their own; the connection retries
  }

  private key(userId: string): string {
    return `${this.prefix}inbox:${userId}`;
  }

  async push(userId: string, entry: InboxEntry): Promise<void> {
    const key = this.key(userId);
    const member = JSON.stringify([entry.id, entry.event, entry.dataJson, entry.text ? 1 : 0, entry.publishedAt]);
    const res = await this.redis
      .multi()
      .zadd(key, String(entry.id), member)
      .zremrangebyrank(key, 0, -(this.max + 1))
      .expire(key, this.ttlS)
      .exec();
    failed(res);
    this.pushed++;
  }

  async list(userId: string): Promise<InboxEntry[]> {
    const key = this.key(userId);
    const members = await this.redis.zrange(key, '0', '-1');
    const cutoff = Date.now() - this.ttlS * 1000;
    const out: InboxEntry[] = [];
    const expired: string[] = [];
    for (const m of members) {
      const [id, event, dataJson, text, publishedAt] = JSON.parse(m) as [number, string, string, number, number];
      if (publishedAt < cutoff) expired.push(m);
      else out.push({ id, event, dataJson, text: text === 1, publishedAt });
    }
    if (expired.length > 0) await this.redis.zrem(key, ...expired);
    return out;
  }

  async ack(userId: string, id: number): Promise<number> {
    const n = await this.redis.zremrangebyscore(this.key(userId), '-inf', String(id));
    this.acked += n;
    return n;
  }

  stats(): InboxStats {
    // Sizes live in Redis across nodes; scanning every user for a stat would cost more than it tells.
    return { inbox_events: 0, inbox_pushed: this.pushed, inbox_acked: this.acked, inbox_oldest_age_ms: 0 };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/** A MULTI whose command failed rejects like a single command would. */
function failed(res: [Error | null, unknown][] | null): void {
  if (res === null) throw new Error('inbox write aborted');
  for (const [err] of res) if (err !== null) throw err;
}
