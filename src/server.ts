import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import { createLogger } from './logger.js';
import type { Application, Component } from './application.js';
import type { Inboxes } from './ack/inbox-delivery.js';
import type { Hub } from './hub/hub.js';
import type { MemoryHistory } from './hub/history.js';
import type { PresencePage } from './hub/presence.js';
import { AppChannels } from './hub/app-channels.js';
import type { ClusterBus } from './bus/index.js';
import { createDatabase, type Database } from './store/index.js';
import type { Authenticator } from './auth/tokens.js';
import { OriginPolicy } from './transports/http/cors.js';
import { ConnectionGate } from './transports/connection-gate.js';
import { createHttpApp } from './transports/http/app.js';
import type { WsTransport } from './transports/ws/transport.js';
import type { SseTransport } from './transports/sse/transport.js';
import type { PollTransport } from './transports/poll/transport.js';
import type { TcpTransport } from './transports/tcp/transport.js';
import { HandlerGuard } from './transports/guard.js';
import { uploadsApp } from './files/app.js';
import { createHub } from './gateway/hub.js';
import { GatewayPresence } from './gateway/presence.js';
import { createAuthenticator } from './gateway/auth.js';
import { createSignalRelay } from './gateway/signaling.js';
import { createTransports } from './gateway/transports.js';
import { TransportDispatch } from './gateway/transport-dispatch.js';
import { createInboxes, restoreInboxes } from './gateway/inbox.js';
import { coreRoutes } from './gateway/core-routes.js';
import { appContext } from './gateway/app-context.js';
import { gatewayStats } from './gateway/stats.js';
import { Applications } from './gateway/applications.js';
import { type Holdings, releaseAfterFailedStart, shutdown } from './gateway/shutdown.js';
import { createCluster, type ClusterNodes } from './cluster/index.js';

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
 * Each part is built in src/gateway/; this class puts them together, in order.
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
  /** Presence on the PRESENCE_CHANNELS patterns and applications' channels (cluster-wide with Redis); none until asked. */
  private readonly presence: GatewayPresence;
  private db: Promise<Database> | null = null;
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
    ({ hub: this.hub, history: this.history, bus: this.bus } = createHub(config, this.log));
    const cluster = (this.cluster = createCluster(config, this.bus, this.log.child({ component: 'cluster' })));
    this.components.push({ name: 'cluster', ready: () => cluster.isReady(), close: () => cluster.close() });
    const presence = (this.presence = new GatewayPresence(config, this.hub, this.log));
    if (config.presenceChannels.length > 0) presence.add(config.presenceChannels);
    const { inboxes, component: acks } = createInboxes(config, this.hub, this.log);
    this.inboxes = inboxes;
    this.components.push(acks);
    const auth = (this.auth = createAuthenticator(config));
    const origins = new OriginPolicy(config.allowedOrigins);
    const gate = (this.gate = new ConnectionGate(config.maxConnections, config.maxConnectionsPerIp));
    const signaling = createSignalRelay(config, this.bus, this.log);
    if (signaling !== null) this.components.push(signaling.component);
    const transports = createTransports(config, {
      hub: this.hub,
      auth,
      origins,
      gate,
      guard,
      log: this.log,
      appChannels: this.appChannels,
      relay: signaling?.relay,
    });
    ({ ws: this.ws, sse: this.sse, poll: this.poll, tcp: this.tcp } = transports);
    const dispatch = new TransportDispatch({ ...transports, guard, accepting: () => this.closing === null });
    this.app = createHttpApp({
      logger: this.log,
      bodyLimit: config.maxBodyBytes,
      origins,
      guard,
      raw: (req, res) => dispatch.raw(req, res),
    });
    this.app.server.on(
      'upgrade',
      guard.upgradeListener((req, socket, head) => dispatch.upgrade(req, socket, head)),
    );

    const { apiGuard, component: realtime } = coreRoutes(this.app, {
      config,
      log: this.log,
      hub: this.hub,
      inboxes,
      bus: this.bus,
      cluster,
      origins,
      presence,
      appChannels: this.appChannels,
      startedAt: this.startedAt,
      stats: () => this.stats(),
      components: () => this.components,
      accepting: () => this.closing === null,
      metricSpecs: () => this.applications.metrics,
      routeDocs: () => this.applications.routes,
    });
    this.components.push(realtime);
    this.applications = new Applications({
      log: this.log,
      appChannels: this.appChannels,
      context: appContext({
        config,
        http: this.app,
        hub: this.hub,
        auth,
        appChannels: this.appChannels,
        serverApiGuard: apiGuard,
        presence,
        database: () => this.database(),
      }),
      addPresence: (patterns) => presence.add(patterns),
      addComponent: (c) => void this.components.push(c),
    });
  }

  /** One page of who is present on `channel` (`cursor`: a previous page's `next_cursor`), with the whole count; null when the channel has no presence. */
  presencePage(channel: string, cursor: string | null, limit: number): Promise<PresencePage> | null {
    return this.presence.page(channel, cursor, limit);
  }

  /** How many are present on `channel`, cluster-wide (no listing); null when the channel has no presence. */
  presenceCount(channel: string): Promise<number> | null {
    return this.presence.count(channel);
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
      await releaseAfterFailedStart(this.holdings());
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

  /**
   * Graceful shutdown (gateway/shutdown.ts): stop accepting, deliver what is
   * queued, close WS clients with 1012 (they reconnect), end SSE streams
   * (they resume with Last-Event-ID), then release every component.
   */
  close(): Promise<void> {
    this.closing ??= shutdown(this.holdings(), this.config.shutdownTimeoutMs);
    return this.closing;
  }

  /** What a close releases (gateway/shutdown.ts). */
  private holdings(): Holdings {
    const { app, hub, bus, presence, components, log, ws, sse, poll, tcp } = this;
    return { app, hub, bus, presence, components, log, ws, sse, poll, tcp };
  }
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
