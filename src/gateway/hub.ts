import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { Hub } from '../hub/hub.js';
import { EventIdSequence } from '../hub/ids.js';
import { MemoryHistory } from '../hub/history.js';
import { RetentionPolicy } from '../hub/retention.js';
import { createBus, type ClusterBus } from '../bus/index.js';

/** The realtime core: the hub, the history it answers resumes from, and the bus it publishes through. */
export interface HubParts {
  hub: Hub;
  history: MemoryHistory;
  bus: ClusterBus;
}

/** The hub and what it stands on, their options resolved from the config once. Nothing connects until `bus.start()`. */
export function createHub(config: Config, log: Logger): HubParts {
  const ids = new EventIdSequence();
  const retention = RetentionPolicy.parse(config.historyRetention, {
    count: config.historySize,
    maxAgeMs: config.historyMaxAgeMs,
  });
  const history = new MemoryHistory({
    size: config.historySize,
    maxBytes: config.historyMaxBytes,
    floor: ids.floor,
    retention,
  });
  // With Redis, nodes share one bus and one durable history: any node can resume any client.
  const bus = createBus(config, log, { history, ids, retention });
  const hub = new Hub(history, bus, { log: log.child({ component: 'catch-up' }) });
  return { hub, history, bus };
}
