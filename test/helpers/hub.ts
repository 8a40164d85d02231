import { Hub, type HubOptions } from '../../src/hub/hub.js';
import { MemoryHistory, type MemoryHistoryOptions } from '../../src/hub/history.js';
import { EventIdSequence } from '../../src/hub/ids.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { createLogger } from '../../src/logger.js';

/**
 * A hub on the in-process bus, wired as the gateway wires it when alone
 * (src/bus/index.ts), and started at the bus's position. Synchronous: the
 * in-process bus needs no connection and no snapshot here.
 */
export function memoryHub(history: Partial<MemoryHistoryOptions> = {}, options: HubOptions = {}): Hub {
  const ids = new EventIdSequence();
  const h = new MemoryHistory({ size: 1000, floor: ids.floor, ...history });
  const hub = new Hub(h, new MemoryBus({ nodeId: 'test', history: h, ids, log: createLogger('silent') }), options);
  hub.startAt(ids.current);
  return hub;
}

/**
 * Publish and return the id at once: the in-process bus delivers before
 * `publishEvent` returns (it is queued for this turn's fan-out), so the hub's
 * position is the new publication's id. For loops that must not yield.
 */
export function publishNow(hub: Hub, channel: string, event: string, data: unknown): number {
  void hub.publishEvent(channel, event, data);
  return hub.position;
}
