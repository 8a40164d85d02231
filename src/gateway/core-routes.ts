import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import type { Component, MetricSpec, RouteDoc } from '../application.js';
import type { Inboxes } from '../ack/inbox-delivery.js';
import type { Hub } from '../hub/hub.js';
import type { AppChannels } from '../hub/app-channels.js';
import type { ClusterBus } from '../bus/index.js';
import type { OriginPolicy } from '../transports/http/cors.js';
import { makeServerApiGuard, type ServerApiGuard } from '../transports/http/api-key.js';
import { createIdempotencyStore } from '../transports/http/idempotency.js';
import { realtimeRoutes, type StatsSource } from '../transports/http/realtime-routes.js';
import { presenceRoutes } from '../transports/http/presence-routes.js';
import { createMetrics } from '../metrics.js';
import { webRoutes } from '../web/routes.js';
import { adminRoutes } from '../web/admin/routes.js';
import { DeliveryTally, type ClusterNodes } from '../cluster/index.js';
import { opsRoutes } from './ops-routes.js';
import type { GatewayPresence } from './presence.js';

/** What the core's routes read: the core's parts, and what is only known later (applications, shutdown). */
export interface CoreRoutesDeps {
  config: Config;
  log: Logger;
  hub: Hub;
  inboxes: Inboxes;
  bus: ClusterBus;
  cluster: ClusterNodes;
  origins: OriginPolicy;
  presence: GatewayPresence;
  appChannels: AppChannels;
  startedAt: number;
  stats: StatsSource;
  /** Read per request: applications add theirs after construction. */
  components(): readonly Component[];
  /** False once shutdown began. */
  accepting(): boolean;
  /** Every stats field's metric, the applications' included: read when `/metrics` is first asked. */
  metricSpecs(): Readonly<Record<string, MetricSpec>>;
  /** Every documented operation, the applications' included. */
  routeDocs(): Readonly<Record<string, RouteDoc>>;
}

/**
 * The core's HTTP routes, in the order fastify registers them: the server API
 * (`/realtime/*`), presence, ops (`/healthz`, `/readyz`, `/metrics`, docs), the
 * web pages and `/admin`. Returns the server API's guard (applications' routes
 * that act as the server use it too) and the component that closes the
 * idempotency store.
 */
export function coreRoutes(
  app: FastifyInstance,
  deps: CoreRoutesDeps,
): { apiGuard: ServerApiGuard; component: Component } {
  const { config, hub, stats } = deps;
  const apiGuard = makeServerApiGuard({
    apiKey: config.apiKey,
    open: config.apiOpen,
    trustProxy: config.trustProxy,
    origins: deps.origins,
  });
  const statsGuard = config.metricsPublic ? undefined : apiGuard;
  const idempotency = createIdempotencyStore({
    redisUrl: config.redisUrl,
    prefix: config.redisPrefix,
    ttlSeconds: config.idempotencyTtlS,
    logger: deps.log,
  });
  const component = realtimeRoutes(app, {
    hub,
    inboxes: deps.inboxes,
    guard: apiGuard,
    statsGuard,
    stats,
    idempotency,
    clustered: deps.bus.clustered,
    logger: deps.log,
    tally: new DeliveryTally(hub, deps.cluster, deps.bus.clustered),
  });
  // A getter: applications add presence after construction.
  const presence = deps.presence;
  presenceRoutes(app, {
    get presence() {
      return presence.current;
    },
    guard: apiGuard,
  });
  let metrics: Registry | null = null;
  opsRoutes(app, {
    components: deps.components,
    checks: (): Record<string, boolean> => ({ bus: deps.bus.isReady() }),
    accepting: deps.accepting,
    metrics: () => (metrics ??= createMetrics(stats, deps.metricSpecs())),
    routes: deps.routeDocs,
    statsGuard,
  });
  webRoutes(app, () => deps.appChannels.defaults);
  adminRoutes(app, {
    cluster: deps.cluster,
    guard: apiGuard,
    apiKey: Boolean(config.apiKey),
    hub,
    nodeId: config.nodeId,
    startedAt: deps.startedAt,
    bufferBytes: config.clientBufferBytes,
    stats,
  });
  return { apiGuard, component };
}
