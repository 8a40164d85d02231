import type { Redis } from 'ioredis';
import { ioredis } from '../lazy-deps.js';
import type { Logger } from '../logger.js';
import type { NodeDirectory } from './directory.js';

/**
 * One heartbeat: drop the entries that expired, renew this node's, return the
 * live ones. Expiry times come from Redis's own clock (TIME), so nodes whose
 * clocks disagree still agree on who is alive.
 */
const BEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

type DirectoryRedis = Redis & { hubcastNodeBeat(key: string, node: string, ttlMs: number): Promise<string[]> };

export interface RedisDirectoryOptions {
  nodeId: string;
  /** Key namespace (REDIS_PREFIX). */
  prefix: string;
  /** A node that stops beating is dropped this long after its last beat. */
  ttlMs: number;
}

/** Default NODE_TTL: a crashed node stops being asked questions (and waited for) after this. */
export const NODE_TTL_MS = 15_000;

/**
 * The cluster's live nodes in Redis: one sorted set `<prefix>nodes`, member =
 * node id, score = when its entry expires. Every node beats a third of the TTL
 * apart; each beat also reads the list, so `live()` answers from memory and
 * asking the cluster a question costs no extra round trip.
 */
export class RedisNodeDirectory implements NodeDirectory {
  readonly nodeId: string;
  private readonly redis: DirectoryRedis;
  private readonly key: string;
  private readonly ttlMs: number;
  private readonly log: Logger;
  private nodes: string[];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(url: string, log: Logger, options: RedisDirectoryOptions) {
    this.nodeId = options.nodeId;
    this.key = `${options.prefix}nodes`;
    this.ttlMs = options.ttlMs;
    this.log = log;
    this.nodes = [options.nodeId];
    const name = `hubcast-${options.nodeId.replace(/[^\w.:-]/g, '_')}-nodes`;
    this.redis = new (ioredis().Redis)(url, {
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      enableOfflineQueue: true,
      connectionName: name,
    }) as DirectoryRedis;
    this.redis.defineCommand('hubcastNodeBeat', { numberOfKeys: 1, lua: BEAT });
    this.redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis node directory connection error'));
  }

  live(): string[] {
    return [...this.nodes];
  }

  forget(node: string): void {
    if (node !== this.nodeId) this.nodes = this.nodes.filter((n) => n !== node);
  }

  async start(): Promise<void> {
    await this.beat();
    this.log.info({ nodes: this.nodes }, `joined the cluster: ${this.nodes.length} live node(s)`);
    this.timer = setInterval(
      () => {
        this.beat().catch((err: Error) => {
          if (!this.closed)
            this.log.warn({ err: err.message }, 'node heartbeat failed: other nodes drop this one if it lasts');
        });
      },
      Math.max(50, Math.floor(this.ttlMs / 3)),
    );
    this.timer.unref();
  }

  isReady(): boolean {
    return this.redis.status === 'ready';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    // Leaving at once: nobody waits for this node's answers until its entry would expire.
    await this.redis
      .zrem(this.key, this.nodeId)
      .catch((err: Error) =>
        this.log.warn({ err: err.message }, 'node not removed from the directory: it expires on its own'),
      );
    this.redis.disconnect();
  }

  private async beat(): Promise<void> {
    const nodes = await this.redis.hubcastNodeBeat(this.key, this.nodeId, this.ttlMs);
    const joined = nodes.filter((n) => !this.nodes.includes(n));
    const left = this.nodes.filter((n) => !nodes.includes(n) && n !== this.nodeId);
    if (this.timer !== null && (joined.length > 0 || left.length > 0))
      this.log.info({ joined, left, nodes }, 'cluster nodes changed');
    this.nodes = nodes.includes(this.nodeId) ? nodes : [this.nodeId, ...nodes];
  }
}
