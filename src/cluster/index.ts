import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { ClusterBus } from '../bus/bus.js';
import { ClusterNodes, NO_OTHER_NODES } from './cluster.js';
import { LocalDirectory } from './directory.js';
import { NODE_TTL_MS, RedisNodeDirectory } from './directory-redis.js';

/** The cluster as this node sees it: over the Redis bus when there is one, else this node alone. */
export function createCluster(config: Config, bus: ClusterBus, log: Logger): ClusterNodes {
  if (!bus.clustered) return new ClusterNodes(new LocalDirectory(config.nodeId), NO_OTHER_NODES, log);
  const directory = new RedisNodeDirectory(config.redisUrl!, log, {
    nodeId: config.nodeId,
    prefix: config.redisPrefix,
    ttlMs: NODE_TTL_MS,
  });
  return new ClusterNodes(directory, bus, log);
}

export { ClusterNodes } from './cluster.js';
export { DeliveryTally } from './delivery-tally.js';
