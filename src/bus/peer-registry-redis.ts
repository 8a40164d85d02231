import type { Redis } from 'ioredis';
import { ioredis } from '../lazy-deps.js';
import type { Logger } from '../logger.js';

/** Claim: free, or already this node's (a restart under the same NODE_ID) → this node's, with a fresh TTL. */
const CLAIM = `
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/** Release only what this node holds. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Refresh every key given: extend this node's; re-take one that expired
 * (Redis was away longer than the TTL, or lost its data); return the
 * positions of those another node holds now.
 */
const REFRESH = `
local lost = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2])
  elseif not v then redis.call('SET', k, ARGV[1], 'PX', ARGV[2])
  else table.insert(lost, i) end
end
return lost
`;

type RegistryRedis = Redis & {
  hubcastPeerClaim(key: string, node: string, ttlMs: number): Promise<number>;
  hubcastPeerRelease(key: string, node: string): Promise<number>;
  hubcastPeerRefresh(numKeys: number, ...args: Array<string | number>): Promise<number[]>;
};

/** Keys refreshed per script call: one call stays short, whatever the node holds. */
const REFRESH_BATCH = 500;

export interface RedisPeerRegistryOptions {
  nodeId: string;
  prefix: string;
  /** How long a claim outlives its last refresh: a node that dies frees its ids after this. */
  ttlMs: number;
}

/**
 * Which node holds which WebRTC peer id, cluster-wide: one key per id,
 * `<prefix>peer:<id>` = the holder's node id, with a TTL the holder keeps
 * refreshing (a third of the TTL apart), deleted when its connection closes.
 * SET-if-free runs in one script, so two nodes can never both claim an id.
 */
export class RedisPeerRegistry {
  private readonly redis: RegistryRedis;
  private readonly nodeId: string;
  private readonly prefix: string;
  readonly ttlMs: number;

  constructor(url: string, log: Logger, options: RedisPeerRegistryOptions) {
    this.nodeId = options.nodeId;
    this.prefix = `${options.prefix}peer:`;
    this.ttlMs = options.ttlMs;
    const name = `hubcast-${options.nodeId.replace(/[^\w.:-]/g, '_')}-peers`;
    // Queued while connecting (the first upgrades may come before the connection is up); while
    // Redis is away a command fails after one reconnect attempt and the client is told.
    this.redis = new (ioredis().Redis)(url, {
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      enableOfflineQueue: true,
      connectionName: name,
    }) as RegistryRedis;
    this.redis.defineCommand('hubcastPeerClaim', { numberOfKeys: 1, lua: CLAIM });
    this.redis.defineCommand('hubcastPeerRelease', { numberOfKeys: 1, lua: RELEASE });
    this.redis.defineCommand('hubcastPeerRefresh', { lua: REFRESH });
    this.redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis peer registry connection error'));
  }

  async claim(peerId: string): Promise<boolean> {
    return (await this.redis.hubcastPeerClaim(this.prefix + peerId, this.nodeId, this.ttlMs)) === 1;
  }

  async release(peerId: string): Promise<void> {
    await this.redis.hubcastPeerRelease(this.prefix + peerId, this.nodeId);
  }

  /** The node holding `peerId`, or null. */
  holder(peerId: string): Promise<string | null> {
    return this.redis.get(this.prefix + peerId);
  }

  /** Keep `peerIds` this node's; returns those another node took meanwhile. */
  async refresh(peerIds: readonly string[]): Promise<string[]> {
    const lost: string[] = [];
    for (let i = 0; i < peerIds.length; i += REFRESH_BATCH) {
      const batch = peerIds.slice(i, i + REFRESH_BATCH);
      const positions = await this.redis.hubcastPeerRefresh(
        batch.length,
        ...batch.map((id) => this.prefix + id),
        this.nodeId,
        this.ttlMs,
      );
      for (const p of positions) lost.push(batch[p - 1]);
    }
    return lost;
  }

  isReady(): boolean {
    return this.redis.status === 'ready';
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
