import type { Redis } from 'ioredis';
import { ioredis } from '../lazy-deps.js';
import type { Logger } from '../logger.js';
import type { PresenceEntry, PresenceStore, PresenceStorePage } from '../hub/presence-store.js';

/**
 * Removes the entries expired at ARGV[1] and returns their texts, in one
 * atomic step: a heartbeat that raises a score between the read and the
 * removal cannot lose its entry, and two sweeping nodes never both announce.
 */
const SWEEP = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local out = {}
for _, id in ipairs(ids) do
  local text = redis.call('HGET', KEYS[3], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  if text then out[#out + 1] = text end
end
return out
`;

interface SweepingRedis extends Redis {
  presenceSweep(expiry: string, ids: string, data: string, now: number): Promise<string[]>;
}

/**
 * Cluster-wide presence in Redis, three keys per channel:
 * `<prefix>presence:<channel>` (sorted set: client id, score = when it expires,
 * in ms: counts with ZCOUNT, sweeps by score), `<prefix>presence-ids:<channel>`
 * (sorted set, every score 0: client ids in byte order, paged with ZRANGEBYLEX
 * from the last id seen, stable while members come and go) and
 * `<prefix>presence-data:<channel>` (hash: client id → member JSON).
 * Redis 7.0 has no per-field TTL on hashes, hence scores.
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly redis: SweepingRedis;
  private readonly prefix: string;
  /** The keys themselves expire when nobody refreshes anything in them for this long. */
  private readonly keyTtlMs: number;

  constructor(url: string, prefix: string, ttlMs: number, log: Logger) {
    this.prefix = prefix;
    this.keyTtlMs = ttlMs * 2;
    // Presence can wait for a reconnect (heartbeats repair what was missed): queue while offline.
    this.redis = new (ioredis().Redis)(url, {
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      enableOfflineQueue: true,
    }) as SweepingRedis;
    this.redis.defineCommand('presenceSweep', { numberOfKeys: 3, lua: SWEEP });
    this.redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis presence connection error'));
  }

  async put(channel: string, entries: PresenceEntry[], expiresAt: number, now: number): Promise<number> {
    const [exp, ids, data] = this.keys(channel);
    if (entries.length === 0) return this.count(channel, now);
    const scored: Array<string | number> = [];
    const lex: Array<string | number> = [];
    const texts: string[] = [];
    for (const e of entries) {
      scored.push(expiresAt, e.id);
      lex.push(0, e.id);
      texts.push(e.id, e.text);
    }
    const ttl = this.keyTtlMs;
    const res = await this.redis
      .multi()
      .zadd(exp, ...scored)
      .zadd(ids, ...lex)
      .hset(data, ...texts)
      .pexpire(exp, ttl)
      .pexpire(ids, ttl)
      .pexpire(data, ttl)
      .zcount(exp, `(${now}`, '+inf')
      .exec();
    return Number(checked(res)[6]);
  }

  async remove(channel: string, id: string, now: number): Promise<{ removed: boolean; count: number }> {
    const [exp, ids, data] = this.keys(channel);
    const res = checked(
      await this.redis.multi().zrem(exp, id).zrem(ids, id).hdel(data, id).zcount(exp, `(${now}`, '+inf').exec(),
    );
    return { removed: Number(res[0]) === 1, count: Number(res[3]) };
  }

  async count(channel: string, now: number): Promise<number> {
    return this.redis.zcount(this.keys(channel)[0], `(${now}`, '+inf');
  }

  async page(channel: string, now: number, after: string | null, limit: number): Promise<PresenceStorePage> {
    const [exp, idsKey, data] = this.keys(channel);
    const ids = await this.redis.zrangebylex(idsKey, after === null ? '-' : `(${after}`, '+', 'LIMIT', 0, limit);
    if (ids.length === 0) return { texts: [], last: null };
    const res = checked(
      await this.redis
        .multi()
        .zmscore(exp, ...ids)
        .hmget(data, ...ids)
        .exec(),
    );
    const scores = res[0] as Array<string | null>;
    const found = res[1] as Array<string | null>;
    const texts: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const text = found[i];
      if (text !== null && scores[i] !== null && Number(scores[i]) > now) texts.push(text);
    }
    return { texts, last: ids.length === limit ? ids[ids.length - 1] : null };
  }

  async sweep(channel: string, now: number): Promise<string[]> {
    const [exp, ids, data] = this.keys(channel);
    return this.redis.presenceSweep(exp, ids, data, now);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private keys(channel: string): [string, string, string] {
    const p = this.prefix;
    return [`${p}presence:${channel}`, `${p}presence-ids:${channel}`, `${p}presence-data:${channel}`];
  }
}

/** The replies of a MULTI, or the first error in it thrown. */
function checked(res: Array<[Error | null, unknown]> | null): unknown[] {
  if (res === null) throw new Error('redis presence transaction aborted');
  for (const [err] of res) if (err !== null) throw err;
  return res.map(([, v]) => v);
}
