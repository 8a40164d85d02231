import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { ClusterBus } from './bus.js';
import type { EventIdSequence } from '../hub/ids.js';
import type { MemoryHistory } from '../hub/history.js';
import type { RetentionPolicy } from '../hub/retention.js';
import { MemoryBus } from './memory.js';
import { RedisBus } from './redis.js';

export * from './bus.js';
export { MemoryBus, type MemoryBusOptions } from './memory.js';
export { RedisBus, type RedisBusOptions } from './redis.js';

/** What the bus is built around: the node's history and id sequence, and the retention both honour. */
export interface BusParts {
  history: MemoryHistory;
  ids: EventIdSequence;
  retention: RetentionPolicy;
}

/**
 * The bus for this process, chosen once at boot: Redis when REDIS_URL is set
 * (nodes share one id sequence and one durable history), the in-process bus
 * otherwise (the process's own history, kept across graceful restarts in
 * DATA_DIR). Nothing is connected until `start()`.
 *
 * With Redis the node's history is a cache of what it delivered since it
 * joined: it starts covering nothing, so a resume from before that is read
 * from Redis rather than answered from an empty local history.
 *
 * @example
 * const bus = createBus(config, log, { history, ids, retention });
 * const hub = new Hub(history, bus);
 * await bus.start();
 * hub.startAt(await bus.currentId());
 */
export function createBus(
  config: Pick<Config, 'redisUrl' | 'redisPrefix' | 'nodeId' | 'dataDir' | 'historyMaxBytes'>,
  logger: Logger,
  parts: BusParts,
): ClusterBus {
  const log = logger.child({ component: 'bus' });
  if (config.redisUrl) {
    parts.history.resetCoverage();
    return new RedisBus(config.redisUrl, log, {
      nodeId: config.nodeId,
      prefix: config.redisPrefix,
      retention: parts.retention,
      maxBytes: config.historyMaxBytes,
    });
  }
  return new MemoryBus({ nodeId: config.nodeId, history: parts.history, ids: parts.ids, dataDir: config.dataDir, log });
}
