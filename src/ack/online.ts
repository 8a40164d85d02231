import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { throttledWarn } from '../cache/throttle.js';
import { ioredis } from '../lazy-deps.js';
import type { Logger } from '../logger.js';

/**
 * Whether a user has a connection anywhere, for the inbox: what is sent to
 * a user with none is kept. Counted per connection open and close (never per
 * delivery).
 */
export interface OnlineUsers {
  connected(userId: string): void;
  disconnected(userId: string): void;
  isOnline(userId: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Embedded: this process is the whole cluster. */
export class MemoryOnlineUsers implements OnlineUsers {
  private readonly counts = new Map<string, number>();

  connected(userId: string): void {
    this.counts.set(userId, (this.counts.get(userId) ?? 0) + 1);
  }

  disconnected(userId: string): void {
    const n = (this.counts.get(userId) ?? 0) - 1;
    if (n > 0) this.counts.set(userId, n);
    else this.counts.delete(userId);
  }

  async isOnline(userId: string): Promise<boolean> {
    return this.counts.has(userId);
  }

  async close(): Promise<void> {}
}

/** How long a node's counts stay believed after its last heartbeat (a node that died says nothing). */
const ALIVE_TTL_S = 15;
const HEARTBEAT_MS = 5000;

/** Online when some live instance counts a connection of the user. */
const IS_ONLINE = `
local counts = redis.call('HGETALL', KEYS[1])
for i = 1, #counts, 2 do
  if tonumber(counts[i + 1]) > 0 and redis.call('EXISTS', ARGV[1] .. counts[i]) == 1 then return 1 end
end
return 0`;

/**
 * Cluster: per user a hash of connection counts by gateway instance (a
 * fresh id per process, so a restarted node's old counts are not its own),
 * believed only while that instance's heartbeat key lives.
 *
 * Each instance writes only its own field, and writes its whole local count
 * (not an increment), so a write that failed is repaired by the next one: a
 * user whose write failed is written again on every heartbeat until one
 * succeeds. Otherwise a lost `HDEL` would leave a gone user counted online for
 * as long as this node lives, and the inbox would keep nothing for them.
 */
export class RedisOnlineUsers implements OnlineUsers {
  private readonly redis: Redis;
  private readonly instance = randomUUID();
  /** This node's connections per user: what it writes, and its own answer to `isOnline`. */
  private readonly localCounts = new Map<string, number>();
  /** Users whose last write failed: written again on the next heartbeat. */
  private readonly unsynced = new Set<string>();
  /** Started with the first user connection: a gateway nobody with a user reaches writes nothing. */
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly warn: (obj: object, msg: string) => void;

  constructor(
    url: string,
    private readonly prefix: string,
    logger: Logger,
    private readonly heartbeatMs = HEARTBEAT_MS,
  ) {
    this.redis = new (ioredis().Redis)(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
    this.redis.on('error', () => undefined); // commands reject on their own; the connection retries
    this.warn = throttledWarn(logger);
  }

  /** Users whose count in Redis is behind this node's (the last write failed and was not repeated yet). */
  get behind(): number {
    return this.unsynced.size;
  }

  private beat(): void {
    this.redis.set(`${this.prefix}alive:${this.instance}`, '1', 'EX', ALIVE_TTL_S).catch((err: Error) => {
      this.warn({ err: err.message }, 'online users: heartbeat not written (this node counts as gone until it is)');
    });
    for (const userId of this.unsynced) this.write(userId);
  }

  private key(userId: string): string {
    return `${this.prefix}online:${userId}`;
  }

  /** This node's count for `userId`, as it is now. Replies come in command order, so the last one decides. */
  private write(userId: string): void {
    const n = this.localCounts.get(userId) ?? 0;
    const key = this.key(userId);
    const written = n > 0 ? this.redis.hset(key, this.instance, n) : this.redis.hdel(key, this.instance);
    written.then(
      () => this.unsynced.delete(userId),
      (err: Error) => {
        this.unsynced.add(userId);
        this.warn(
          { err: err.message, behind: this.unsynced.size },
          'online users: count not written; retried on the next heartbeat',
        );
      },
    );
  }

  connected(userId: string): void {
    if (this.heartbeat === null) {
      // Sent before the count on the same connection: the count is never there without it.
      this.beat();
      this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs).unref();
    }
    this.localCounts.set(userId, (this.localCounts.get(userId) ?? 0) + 1);
    this.write(userId);
  }

  disconnected(userId: string): void {
    const n = (this.localCounts.get(userId) ?? 0) - 1;
    if (n > 0) this.localCounts.set(userId, n);
    else this.localCounts.delete(userId);
    this.write(userId);
  }

  async isOnline(userId: string): Promise<boolean> {
    if (this.localCounts.has(userId)) return true;
    return (await this.redis.eval(IS_ONLINE, 1, this.key(userId), `${this.prefix}alive:`)) === 1;
  }

  async close(): Promise<void> {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    const pipe = this.redis.pipeline();
    for (const userId of new Set([...this.localCounts.keys(), ...this.unsynced]))
      pipe.hdel(this.key(userId), this.instance);
    pipe.del(`${this.prefix}alive:${this.instance}`);
    // If this fails, the heartbeat key still expires within ALIVE_TTL_S and the counts stop being believed.
    await pipe
      .exec()
      .catch((err: Error) => this.warn({ err: err.message }, 'online users: counts not removed at close'));
    this.redis.disconnect();
  }
}
