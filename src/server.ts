import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from './config/config.js';
import { createLogger } from './logger.js';
import type { Application, AppContext, Component } from './application.js';
import type { Inboxes } from './ack/inbox-delivery.js';
import { Hub } from './hub/hub.js';
import { EventIdSequence } from './hub/ids.js';
import { MemoryHistory } from './hub/history.js';
import { createBus, type ClusterBus } from './bus/index.js';
import { RetentionPolicy } from './hub/retention.js';
import { RedisPresenceStore } from './bus/presence-redis.js';
import { RedisPeerRegistry } from './bus/peer-registry-redis.js';
import { ClusterSignalRelay, PEER_TTL_MS } from './transports/webrtc/cluster-relay.js';
import { Presence, type PresencePage } from './hub/presence.js';
import { MemoryPresenceStore } from './hub/presence-memory.js';
import { AppChannels } from './hub/app-channels.js';
import { createDatabase, type Database } from './store/index.js';
import { presenceRoutes } from './transports/http/presence-routes.js';
import { Authenticator } from './auth/tokens.js';
import { anonymous, joinDenied, publishDenied } from './auth/permissions.js';
import { OriginPolicy } from './transports/http/cors.js';
import { makeServerApiGuard } from './transports/http/api-key.js';
import { ConnectionGate } from './transports/connection-gate.js';
import { createHttpApp } from './transports/http/app.js';
import { realtimeRoutes } from './transports/http/realtime-routes.js';
import { createIdempotencyStore } from './transports/http/idempotency.js';
import type { WsTransport } from './transports/ws/transport.js';
import { SSE_PATH, type SseTransport } from './transports/sse/transport.js';
import { POLL_PATH, type PollTransport } from './transports/poll/transport.js';
import type { TcpTransport } from './transports/tcp/transport.js';
import { rejectSocket, sendError } from './transports/http/reject.js';
import { HandlerGuard, parseTarget } from './transports/guard.js';
import { ErrorCode, CloseCode } from './codes.js';
import { createMetrics } from './metrics.js';
import { webRoutes } from './web/routes.js';
import { uploadsApp } from './files/app.js';
import { createTransports } from './gateway/transports.js';
import { createInboxes, restoreInboxes } from './gateway/inbox.js';
import { gatewayStats } from './gateway/stats.js';
import { opsRoutes } from './gateway/ops-routes.js';
import { Applications, servePage } from './gateway/applications.js';
import { createCluster, DeliveryTally, type ClusterNodes } from './cluster/index.js';
import { adminRoutes } from './web/admin/routes.js';

export type { Application, Component } from './application.js';

export interface GatewayOptions {
  logger?: Logger;
  /** The applications this gateway runs (src/application.ts), registered in order. */
  apps?: readonly Application[];
}

/**
 * The gateway process: hub, transports and HTTP API, plus the applications
 * registered on it. `createGateway` has no side effects beyond building
 * objects and starting the applications; `listen` opens the port.
 */
export class Gateway {
  readonly config: Config;
  readonly log: Logger;
  readonly hub: Hub;
  /** The user inbox (src/ack/). */
  readonly inboxes: Inboxes;
  readonly app: FastifyInstance<Server>;
  readonly ws: WsTransport;
  readonly sse: SseTransport;
  readonly poll: PollTransport;
  /** Raw TCP on TCP_PORT; null when unset. */
  readonly tcp: TcpTransport | null;
  readonly components: Component[] = [];
  /** Verifies tokens for every transport, and for applications' own routes. */
  readonly auth: Authenticator;
  /** The channels applications own, and what a stream naming none joins. */
  readonly appChannels = new AppChannels();
  readonly applications: Applications;
  private readonly history: MemoryHistory;
  private readonly bus: ClusterBus;
  /** The live nodes and questions put to all of them (this node alone without Redis). */
  readonly cluster: ClusterNodes;
  /** Presence on the PRESENCE_CHANNELS patterns and applications' channels (cluster-wide with Redis); null when none. */
  private presence: Presence | null = null;
  private db: Promise<Database> | null = null;
  private metrics: Registry | null = null;
  /** Connection slots (WS + SSE) against the node and per-address limits. */
  readonly gate: ConnectionGate;
  /** Where every exception from a socket, upgrade or request handler ends (see guard.ts). */
  readonly guard: HandlerGuard;
  private readonly startedAt = Date.now();
  private closing: Promise<void> | null = null;

  constructor(config: Config, options: GatewayOptions = {}) {
    this.config = config;
    this.log =
      options.logger ??
      createLogger(config.logLevel, 'hubcast', { format: config.logFormat, levels: config.logLevels });
    const guard = (this.guard = new HandlerGuard(this.log.child({ component: 'guard' })));
    const ids = new EventIdSequence();
    const retention = RetentionPolicy.parse(config.historyRetention, {
      count: config.historySize,
      maxAgeMs: config.historyMaxAgeMs,
    });
    this.history = new MemoryHistory({
      size: config.historySize,
      maxBytes: config.historyMaxBytes,
      floor: ids.floor,
      retention,
    });
    // With Redis, nodes share one bus and one durable history: any node can resume any client.
    this.bus = createBus(config, this.log, { history: this.history, ids, retention });
    this.hub = new Hub(this.history, this.bus, { log: this.log.child({ component: 'catch-up' }) });
    const cluster = (this.cluster = createCluster(config, this.bus, this.log.child({ component: 'cluster' })));
    this.components.push({ name: 'cluster', ready: () => cluster.isReady(), close: () => cluster.close() });
    if (config.presenceChannels.length > 0) this.addPresence(config.presenceChannels);
    const { inboxes, component: acks } = createInboxes(config, this.hub, this.log);
    this.inboxes = inboxes;
    this.components.push(acks);
    const auth = (this.auth = new Authenticator({
      secret: config.jwtSecret,
      publicKey: config.jwtPublicKey,
      jwks: config.jwtJwks,
      anonymous: config.authAnonymous,
      audience: config.jwtAudience,
      issuer: config.jwtIssuer,
      maxTtlSeconds: config.jwtMaxTtlS,
    }));
    const origins = new OriginPolicy(config.allowedOrigins);
    const gate = (this.gate = new ConnectionGate(config.maxConnections, config.maxConnectionsPerIp));
    // With Redis, WebRTC peer ids are held and signals relayed cluster-wide.
    let relay: ClusterSignalRelay | undefined;
    if (config.redisUrl) {
      const log = this.log.child({ component: 'signaling' });
      const registry = new RedisPeerRegistry(config.redisUrl!, log, {
        nodeId: config.nodeId,
        prefix: config.redisPrefix,
        ttlMs: PEER_TTL_MS,
      });
      relay = new ClusterSignalRelay(this.bus, registry, log);
      this.components.push({ name: 'signaling', ready: () => relay!.isReady(), close: () => relay!.close() });
    }
    const transports = createTransports(config, {
      hub: this.hub,
      auth,
      origins,
      gate,
      guard,
      log: this.log,
      appChannels: this.appChannels,
      relay,
    });
    ({ ws: this.ws, sse: this.sse, poll: this.poll, tcp: this.tcp } = transports);
    this.app = createHttpApp({
      logger: this.log,
      bodyLimit: config.maxBodyBytes,
      origins,
      guard,
      raw: (req, res) => this.routeRaw(req, res),
    });
    this.app.server.on(
      'upgrade',
      guard.upgradeListener((req: IncomingMessage, socket: Duplex, head: Buffer) =>
        this.routeUpgrade(req, socket, head),
      ),
    );

    const stats = () => this.stats();
    const apiGuard = makeServerApiGuard({
      apiKey: config.apiKey,
      open: config.apiOpen,
      trustProxy: config.trustProxy,
      origins,
    });
    const statsGuard = config.metricsPublic ? undefined : apiGuard;
    const idempotency = createIdempotencyStore({
      redisUrl: config.redisUrl,
      prefix: config.redisPrefix,
      ttlSeconds: config.idempotencyTtlS,
      logger: this.log,
    });
    this.components.push(
      realtimeRoutes(this.app, {
        hub: this.hub,
        inboxes: this.inboxes,
        guard: apiGuard,
        statsGuard,
        stats,
        idempotency,
        clustered: this.bus.clustered,
        logger: this.log,
        tally: new DeliveryTally(this.hub, cluster, this.bus.clustered),
      }),
    );
    // A getter: applications add presence after construction (addPresence).
    const self = this;
    presenceRoutes(this.app, {
      get presence() {
        return self.presence;
      },
      guard: apiGuard,
    });
    opsRoutes(this.app, {
      components: () => this.components,
      checks: (): Record<string, boolean> => ({ bus: this.bus.isReady() }),
      accepting: () => this.closing === null,
      metrics: () => (this.metrics ??= createMetrics(stats, this.applications.metrics)),
      routes: () => this.applications.routes,
      statsGuard,
    });
    webRoutes(this.app, () => this.appChannels.defaults);
    adminRoutes(this.app, {
      cluster,
      guard: apiGuard,
      apiKey: Boolean(config.apiKey),
      hub: this.hub,
      nodeId: config.nodeId,
      startedAt: this.startedAt,
      bufferBytes: config.clientBufferBytes,
      stats,
    });

    const channels = this.appChannels;
    const context: Omit<AppContext, 'log' | 'component'> = {
      config,
      http: this.app,
      publisher: this.hub,
      access: {
        enabled: auth.enabled,
        identify: (req, url) => (auth.enabled ? auth.identify(req, url) : Promise.resolve(anonymous())),
        joinDenied: (identity, channel) => joinDenied(identity, channel, channels),
        publishDenied: (identity, channel) => publishDenied(identity, channel, channels),
      },
      serverApiGuard: apiGuard,
      database: () => this.database(),
      page: (path, html) => servePage(this.app, path, html),
      presencePage: (channel, cursor, limit) => this.presencePage(channel, cursor, limit),
      presenceCount: (channel) => this.presenceCount(channel),
    };
    this.applications = new Applications({
      log: this.log,
      appChannels: channels,
      context,
      addPresence: (patterns) => this.addPresence(patterns),
      addComponent: (c) => void this.components.push(c),
    });
  }

  /** Presence on channels matching `patterns` too (PRESENCE_CHANNELS, applications' `presence: true` channels). */
  private addPresence(patterns: readonly string[]): void {
    if (this.presence !== null) return this.presence.addPatterns(patterns);
    const config = this.config;
    this.presence = new Presence(
      config.redisUrl
        ? new RedisPresenceStore(config.redisUrl, config.redisPrefix, config.presenceTtlMs, this.log)
        : new MemoryPresenceStore(),
      {
        patterns,
        nodeId: config.nodeId,
        ttlMs: config.presenceTtlMs,
        diffThreshold: config.presenceDiffThreshold,
        diffIntervalMs: config.presenceDiffIntervalMs,
        diffMaxMembers: config.presenceDiffMaxMembers,
        publish: (c, e, d) => this.hub.publishEvent(c, e, d),
        logger: this.log,
      },
    );
    this.hub.setMembershipListener(this.presence);
  }

  /** One page of who is present on `channel` (`cursor`: a previous page's `next_cursor`), with the whole count; null when the channel has no presence. */
  presencePage(channel: string, cursor: string | null, limit: number): Promise<PresencePage> | null {
    return this.presence?.tracks(channel) ? this.presence.page(channel, cursor, limit) : null;
  }

  /** How many are present on `channel`, cluster-wide (no listing); null when the channel has no presence. */
  presenceCount(channel: string): Promise<number> | null {
    return this.presence?.tracks(channel) ? this.presence.count(channel) : null;
  }

  /**
   * The process's one database (PGlite admits one opener per directory), opened
   * on the first call and closed with the gateway: every application shares it.
   */
  database(): Promise<Database> {
    this.db ??= createDatabase(this.config, this.log).then((db) => {
      this.components.push({ name: 'database', ready: () => db.isReady(), close: () => db.close() });
      return db;
    });
    return this.db;
  }

  /** Every event name the server publishes on its own (the core's and the applications'). */
  events(): string[] {
    return this.applications.events;
  }

  /** Register the applications (async: they may connect to services), then be ready to listen. */
  async init(apps: readonly Application[] = []): Promise<this> {
    await this.bus.start();
    this.hub.startAt(await this.bus.currentId());
    await this.cluster.start();
    await restoreInboxes(this.config, this.inboxes, this.log);
    try {
      for (const app of [uploadsApp(this.config), ...apps]) await this.applications.register(app);
    } catch (err) {
      // Release what the applications already opened (pools, sockets) before failing.
      for (const c of [...this.components].reverse()) await c.close().catch(() => undefined);
      this.ws.stop();
      this.sse.stop();
      this.poll.stop();
      this.tcp?.stop();
      await this.presence?.close();
      await this.bus.close();
      throw err;
    }
    return this;
  }

  stats(): Record<string, unknown> {
    const { config, hub, gate, guard, components, ws, sse, poll, tcp, startedAt } = this;
    return gatewayStats({
      config,
      hub,
      gate,
      guard,
      components,
      ws,
      sse,
      poll,
      tcp,
      startedAt,
      clustered: this.bus.clustered,
    });
  }

  async listen(): Promise<AddressInfo> {
    await this.app.listen({ host: this.config.host, port: this.config.port });
    if (this.tcp !== null && this.config.tcpPort !== undefined)
      await this.tcp.listen(this.config.host, this.config.tcpPort);
    return this.app.server.address() as AddressInfo;
  }

  get url(): string {
    const a = this.app.server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  /** Runs inside the guard's `request` listener (http/app.ts): a throw here answers that request only. */
  private routeRaw(req: IncomingMessage, res: ServerResponse): boolean {
    const target = req.url ?? '/';
    const sse = isPath(target, SSE_PATH);
    if (!sse && !isPath(target, POLL_PATH)) return false;
    if (this.closing !== null) {
      sendError(res, 503, ErrorCode.notReady, 'server is shutting down', { Connection: 'close' });
      return true;
    }
    const url = parseTarget(target);
    if (url === null) {
      sendError(res, 400, ErrorCode.badRequest, 'malformed request-target');
      return true;
    }
    if (sse) this.sse.handle(req, res, url).catch((err: unknown) => this.guard.response('sse request', err, res, req));
    else this.poll.handle(req, res, url).catch((err: unknown) => this.guard.response('poll request', err, res, req));
    return true;
  }

  /** Runs inside the guard's `upgrade` listener: a throw or rejection here answers this socket only. */
  private async routeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.closing !== null) return rejectSocket(socket, 503, ErrorCode.notReady, 'server is shutting down');
    // A request-target such as `//[` is no URL at all: `new URL` would throw.
    const url = parseTarget(req.url);
    if (url === null) return rejectSocket(socket, 400, ErrorCode.badRequest, 'malformed request-target');
    if (!this.ws.handles(url.pathname))
      return rejectSocket(socket, 404, ErrorCode.notFound, `no WebSocket endpoint at ${url.pathname}`);
    await this.ws.upgrade(req, socket, head, url);
  }

  /**
   * Graceful shutdown: stop accepting, deliver what is queued, close WS
   * clients with 1012 (they reconnect), end SSE streams (they resume with
   * Last-Event-ID), then release every component.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const deadline = this.config.shutdownTimeoutMs;
    const serverClosed = new Promise<void>((resolve) => this.app.server.close(() => resolve()));
    const closeComponents = async () => {
      for (const c of [...this.components].reverse()) {
        await c.close().catch((err) => this.log.warn({ err, component: c.name }, 'component failed to close'));
      }
    };
    const releaseClients = async () => {
      this.hub.flush();
      this.sse.closeAll();
      this.poll.closeAll();
      this.tcp?.closeAll();
      await this.ws.closeAll(CloseCode.serviceRestart, 'server restart', Math.min(3000, deadline / 2));
      this.ws.stop();
    };
    if (this.bus.clustered) {
      // In a cluster, clients go first: they reconnect to another node at once
      // and resume from durable history, while this node's consumer drains
      // (what it still publishes reaches them through the bus).
      await releaseClients();
      await closeComponents();
    } else {
      // Alone, producers go first (generator, consumer, then what they stand
      // on): after that nothing publishes, so what clients hold plus the
      // snapshot below is the whole history.
      await closeComponents();
      await releaseClients();
    }
    this.app.server.closeAllConnections?.();
    await Promise.race([serverClosed, new Promise((r) => setTimeout(r, 1000).unref())]);
    // The closes above announced presence.leave for every client: let those go out on the bus.
    await this.presence?.close().catch((err) => this.log.warn({ err }, 'presence failed to close'));
    // Alone, this saves the history for the next start (bus/memory.ts).
    await this.bus.close();
    await this.app.close().catch((err) => this.log.warn({ err }, 'http app failed to close'));
  }
}

/** `target` is `path`, with or without a query. */
function isPath(target: string, path: string): boolean {
  return target.startsWith(path) && (target.length === path.length || target[path.length] === '?');
}

/**
 * Build a gateway, register its applications, and resolve once it can listen.
 *
 * @example
 * const gateway = await createGateway(makeConfig({ port: 8080 }), { apps: [myApp] });
 * await gateway.listen();
 */
export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const gateway = new Gateway(config, options);
  return gateway.init(options.apps);
}
