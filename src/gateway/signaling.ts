import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Component } from '../application.js';
import type { ClusterBus } from '../bus/index.js';
import { RedisPeerRegistry } from '../bus/peer-registry-redis.js';
import { ClusterSignalRelay, PEER_TTL_MS } from '../transports/webrtc/cluster-relay.js';

/**
 * With Redis, WebRTC peer ids are held and signals relayed cluster-wide: the
 * relay and the component that closes it. Without, null: the WebSocket
 * transport keeps this node's peers in a node-local relay.
 */
export function createSignalRelay(
  config: Config,
  bus: ClusterBus,
  logger: Logger,
): { relay: ClusterSignalRelay; component: Component } | null {
  if (!config.redisUrl) return null;
  const log = logger.child({ component: 'signaling' });
  const registry = new RedisPeerRegistry(config.redisUrl, log, {
    nodeId: config.nodeId,
    prefix: config.redisPrefix,
    ttlMs: PEER_TTL_MS,
  });
  const relay = new ClusterSignalRelay(bus, registry, log);
  return { relay, component: { name: 'signaling', ready: () => relay.isReady(), close: () => relay.close() } };
}
