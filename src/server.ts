import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { limitsOf, type Config } from './config/config.js';
import { createLogger } from './logger.js';
import { Acks, ACK_WINDOW } from './ack/acks.js';
import { MemoryAckPositions, RedisAckPositions } from './ack/positions.js';
import { Inboxes } from './ack/inbox-delivery.js';
import { MemoryInbox } from './ack/inbox-memory.js';
import { restoreInboxSnapshot, saveInboxSnapshot } from './ack/inbox-snapshot.js';
import { RedisInbox } from './ack/inbox-redis.js';
import { MemoryOnlineUsers, RedisOnlineUsers } from './ack/online.js';
import { Hub } from './hub/hub.js';
import { EventIdSequence } from './hub/ids.js';
import { MemoryHistory } from './hub/history.js';
import { restoreHistorySnapshot, saveHistorySnapshot } from './hub/history-snapshot.js';
import { RedisBus } from './bus/redis.js';
import { RetentionPolicy } from './hub/retention.js';
import { RedisPresenceStore } from './bus/presence-redis.js';
import { RedisPeerRegistry } from './bus/peer-registry-redis.js';
import { ClusterSignalRelay, PEER_TTL_MS } from './transports/webrtc/cluster-relay.js';
import { MemoryPresenceStore, Presence, type PresenceMember } from './hub/presence.js';
import type { ChannelHandler } from './hub/app-channels.js';
import { createDatabase, type Database } from './store/index.js';
import { presenceRoutes } from './transports/http/presence-routes.js';
import { Authenticator } from './auth/tokens.js';
import { OriginPolicy } from './transports/http/cors.js';
import { makeServerApiGuard } from './transports/http/api-key.js';
import { ConnectionGate } from './transports/connection-gate.js';
import { createHttpApp } from './transports/http/app.js';
import { realtimeRoutes } from './transports/http/realtime-routes.js';
import { createIdempotencyStore } from './transports/http/idempotency.js';
import { WsTransport } from './transports/ws/transport.js';
import { SseTransport, SSE_PATH } from './transports/sse/transport.js';
import { PollTransport, POLL_PATH } from './transports/poll/transport.js';
import { TcpTransport } from './transports/tcp/transport.js';
import { rejectSocket, sendError } from './transports/http/reject.js';
import { HandlerGuard, parseTarget } from './transports/guard.js';
import { ErrorCode, CloseCode } from './codes.js';
import { createMetrics } from './metrics.js';
import { buildOpenApi } from './openapi/document.js';
import { docsPage } from './openapi/docs-page.js';
import { registeredRoutes } from './transports/http/route-list.js';
import { webRoutes, PAGE_HEADERS } from './web/routes.js';
import { uploadRoutes } from './transports/http/upload-routes.js';
import { createFileStore } from './files/index.js';

/** A dependency the gateway checks for readiness and closes on shutdown. */
export interface Component {
  name: string;
  ready(): Promise<boolean> | boolean;
  close(): Promise<void>;
  /** Extra figures for /realtime/stats. */
  stats?(): Record<string, number>;
}

/** Something that adds routes and components once the core exists (the catalog pipeline). */
export type GatewayExtension = (gateway: Gateway) => Promise<void> | void;

export interface GatewayOptions {
  logger?: Logger;
  extensions?: GatewayExtension[];
}

/**
 * The gateway process: hub, transports and HTTP API, plus whatever the
 * extensions add. `createGateway` has no side effects beyond building objects;
 * `listen` opens the port.
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
  private readonly history: MemoryHistory;
  private readonly bus: RedisBus | null;
  /** Presence on the PRESENCE_CHANNELS patterns and applications' channels (cluster-wide with Redis); null when none. */
  private presence: Presence | null = null;
  private db: Promise<Database> | null = null;
  /** Connection slots (WS + SSE) against the node and per-address limits. */
  readonly gate: ConnectionGate;
  /** Where every exception from a socket, upgrade or request handler ends (see guard.ts). */
  readonly guard: HandlerGuard;
  private readonly startedAt = Date.now();
  private closing: Promise<void> | null = null;

  constructor(config: Config, options: GatewayOptions = {}) {
    this.config = config;
    this.log = options.logger ?? createLogger(config.logLevel, 'hubcast', { format: config.logFormat, levels: config.logLevels });
    const guard = (this.guard = new HandlerGuard(this.log.child({ component: 'guard' })));
    const ids = new EventIdSequence();
    const retention = RetentionPolicy.parse(config.historyRetention, { count: config.historySize, maxAgeMs: config.historyMaxAgeMs });
    this.history = new MemoryHistory({ size: config.historySize, maxBytes: config.historyMaxBytes, floor: ids.floor, retention });
    // With Redis, nodes share one bus and one durable history: any node can resume any client.
    this.bus = config.redisUrl
      ? new RedisBus(config.redisUrl, this.log.child({ component: 'bus' }), {
          nodeId: config.nodeId,
          prefix: config.redisPrefix,
          retention,
          maxBytes: config.historyMaxBytes,
        })
      : null;
    this.hub = new Hub(this.history, ids, this.bus, { log: this.log.child({ component: 'catch-up' }) });
    if (config.presenceChannels.length > 0) this.addPresence(config.presenceChannels);
    const inboxOptions = { max: config.inboxMax, ttlS: config.inboxTtlS };
    const inboxStore = config.redisUrl ? new RedisInbox(config.redisUrl, config.redisPrefix, inboxOptions) : new MemoryInbox(inboxOptions);
    const acks = (this.hub.acks = new Acks({
      timeoutMs: config.ackTimeoutMs,
      // An inbox is delivered as one subscription: the window holds a full one.
      window: Math.max(ACK_WINDOW, config.inboxMax),
      positions: config.redisUrl ? new RedisAckPositions(config.redisUrl, config.redisPrefix) : new MemoryAckPositions(),
      detach: (sub) => this.hub.removeConnection(sub),
      inbox: inboxStore,
    }));
    const inboxes = (this.inboxes = new Inboxes(
      inboxStore,
      config.redisUrl ? new RedisOnlineUsers(config.redisUrl, config.redisPrefix) : new MemoryOnlineUsers(),
      acks,
      this.log.child({ component: 'inbox' }),
    ));
    this.hub.watcher = inboxes;
    this.components.push({
      name: 'acks',
      ready: async () => true,
      close: async () => {
        acks.close();
        await acks.positions.close();
        if (inboxStore instanceof MemoryInbox) {
          await saveInboxSnapshot(config.dataDir, inboxStore).catch((err) =>
            this.log.warn({ err }, 'inbox snapshot not saved: what offline users had not acknowledged is lost'),
          );
        }
        await inboxes.close();
      },
      stats: () => ({ ...acks.stats(), ...inboxes.stats() }),
    });
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
    if (this.bus !== null) {
      const log = this.log.child({ component: 'signaling' });
      const registry = new RedisPeerRegistry(config.redisUrl!, log, { nodeId: config.nodeId, prefix: config.redisPrefix, ttlMs: PEER_TTL_MS });
      relay = new ClusterSignalRelay(this.bus, registry, log);
      this.components.push({ name: 'signaling', ready: () => relay!.isReady(), close: () => relay!.close() });
    }
    this.ws = new WsTransport(
      this.hub,
      {
        enabled: config.websocketEnabled,
        maxFrameBytes: config.wsMaxFrameBytes,
        bufferBytes: config.clientBufferBytes,
        pingIntervalMs: config.wsPingIntervalMs,
        channelsPerConnection: config.channelsPerConnection,
        rate: { perSecond: config.wsRateLimit, burst: config.wsRateBurst },
        byteRate: { perSecond: config.wsRateLimitBytes, burst: config.wsRateBurstBytes },
        signaling: {
          maxSignalBytes: config.webrtcSignalMaxBytes,
          rate: config.webrtcSignalRate > 0 ? { perSecond: config.webrtcSignalRate, burst: config.webrtcSignalBurst } : null,
        },
        relay,
      },
      auth,
      origins,
      gate,
      this.log.child({ component: 'ws' }),
      guard,
    );
    this.sse = new SseTransport(
      this.hub,
      {
        enabled: config.sseEnabled,
        bufferBytes: config.clientBufferBytes,
        heartbeatMs: config.sseHeartbeatMs,
        retryMs: config.sseRetryMs,
        channelsPerConnection: config.channelsPerConnection,
      },
      auth,
      origins,
      gate,
      guard,
    );
    this.poll = new PollTransport(
      this.hub,
      {
        enabled: config.pollEnabled,
        maxEvents: config.pollMaxEvents,
        channelsPerConnection: config.channelsPerConnection,
        appChannels: this.ws.appChannels,
        maxPublishBytes: config.wsMaxFrameBytes,
      },
      auth,
      origins,
      gate,
      guard,
    );
    this.tcp =
      config.tcpPort === undefined
        ? null
        : new TcpTransport(
            this.hub,
            {
              maxLineBytes: config.wsMaxFrameBytes,
              bufferBytes: config.clientBufferBytes,
              channelsPerConnection: config.channelsPerConnection,
              rate: config.wsRateLimit > 0 ? { perSecond: config.wsRateLimit, burst: config.wsRateBurst } : null,
              byteRate: config.wsRateLimitBytes > 0 ? { perSecond: config.wsRateLimitBytes, burst: config.wsRateBurstBytes } : null,
              appChannels: this.ws.appChannels,
            },
            auth,
            gate,
            this.log.child({ component: 'tcp' }),
            guard,
          );
    this.app = createHttpApp({
      logger: this.log,
      bodyLimit: config.maxBodyBytes,
      origins,
      guard,
      raw: (req, res) => this.routeRaw(req, res),
    });
    this.app.server.on('upgrade', guard.upgradeListener((req: IncomingMessage, socket: Duplex, head: Buffer) => this.routeUpgrade(req, socket, head)));

    const stats = () => this.stats();
    const apiGuard = makeServerApiGuard({ apiKey: config.apiKey, open: config.apiOpen, trustProxy: config.trustProxy, origins });
    const statsGuard = config.metricsPublic ? undefined : apiGuard;
    const idempotency = createIdempotencyStore({ redisUrl: config.redisUrl, prefix: config.redisPrefix, ttlSeconds: config.idempotencyTtlS, logger: this.log });
    this.components.push(
      realtimeRoutes(this.app, { hub: this.hub, inboxes: this.inboxes, guard: apiGuard, statsGuard, stats, idempotency, clustered: this.bus !== null, logger: this.log }),
    );
    // A getter: applications add presence after construction (addPresence).
    const self = this;
    presenceRoutes(this.app, {
      get presence() {
        return self.presence;
      },
      guard: apiGuard,
    });
    const metrics = createMetrics(stats);
    this.app.get('/healthz', async () => ({ status: 'ok' }));
    this.app.get('/readyz', async (_req, reply) => {
      const checks: Record<string, boolean> = {};
      await Promise.all(
        this.components.map(async (c) => {
          checks[c.name] = await Promise.resolve(c.ready()).catch(() => false);
        }),
      );
      if (this.bus !== null) checks.bus = this.bus.isReady();
      const ready = this.closing === null && Object.values(checks).every(Boolean);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    });
    this.app.get('/metrics', statsGuard ? { onRequest: statsGuard } : {}, async (_req, reply) => {
      reply.header('Content-Type', metrics.contentType);
      return metrics.metrics();
    });
    // Built on first request: extensions add their routes after construction.
    let openapi: string | null = null;
    this.app.get('/openapi.json', async (_req, reply) => {
      openapi ??= JSON.stringify(buildOpenApi(registeredRoutes(this.app)));
      return reply.type('application/json').send(openapi);
    });
    this.app.get('/docs', async (_req, reply) => reply.headers(PAGE_HEADERS).send(docsPage));
    webRoutes(this.app);
    void this.app.register(uploadRoutes, { hub: this.hub, files: createFileStore(config, () => this.database(), this.log), maxBytes: config.uploadMaxBytes, channel: config.uploadChannel, guard: apiGuard });
  }

  /**
   * Presence on channels matching `patterns` too (an application's channels,
   * e.g. `chat:*`): called by extensions before the gateway listens.
   */
  addPresence(patterns: readonly string[]): void {
    if (this.presence !== null) return this.presence.addPatterns(patterns);
    const config = this.config;
    this.presence = new Presence(
      config.redisUrl ? new RedisPresenceStore(config.redisUrl, config.redisPrefix, config.presenceTtlMs, this.log) : new MemoryPresenceStore(),
      { patterns, nodeId: config.nodeId, ttlMs: config.presenceTtlMs, publish: (c, e, d) => this.hub.publishEvent(c, e, d), logger: this.log },
    );
    this.hub.setMembershipListener(this.presence);
  }

  /** Who is present on `channel`, cluster-wide; null when the channel has no presence. */
  presenceOf(channel: string): Promise<PresenceMember[]> | null {
    return this.presence !== null && this.presence.tracks(channel) ? this.presence.list(channel) : null;
  }

  /** Hand client publishes on channels starting with `prefix` to `handler` (see hub/app-channels.ts). */
  claimChannels(prefix: string, handler: ChannelHandler): void {
    this.ws.appChannels.register(prefix, handler);
  }

  /**
   * The process's one database (PGlite admits one opener per directory), opened
   * on the first call and closed with the gateway: every extension shares it.
   */
  database(): Promise<Database> {
    this.db ??= createDatabase(this.config, this.log).then((db) => {
      this.components.push({ name: 'database', ready: () => db.isReady(), close: () => db.close() });
      return db;
    });
    return this.db;
  }

  /** Apply extensions (async: they may connect to services), then be ready to listen. */
  async init(extensions: GatewayExtension[] = []): Promise<this> {
    if (this.bus !== null) {
      await this.bus.start();
      this.hub.startAt(await this.bus.currentId());
    } else {
      const restored = await restoreHistorySnapshot(this.config.dataDir, this.history, this.hub.ids);
      if (restored > 0) this.log.info({ events: restored }, 'history restored from the last graceful shutdown');
      if (this.inboxes.store instanceof MemoryInbox) {
        const kept = await restoreInboxSnapshot(this.config.dataDir, this.inboxes.store);
        if (kept > 0) this.log.info({ events: kept }, 'user inboxes restored from the last graceful shutdown');
      }
    }
    try {
      for (const ext of extensions) await ext(this);
    } catch (err) {
      // Release what the extensions already opened (pools, sockets) before failing.
      for (const c of [...this.components].reverse()) await c.close().catch(() => undefined);
      this.ws.stop();
      this.sse.stop();
      this.poll.stop();
      this.tcp?.stop();
      await this.presence?.close();
      await this.bus?.close();
      throw err;
    }
    return this;
  }

  stats(): Record<string, unknown> {
    const counts = this.hub.countByTransport();
    const hub = this.hub.stats();
    const out: Record<string, unknown> = {
      websocket_count: counts.ws,
      sse_count: counts.sse,
      tcp_count: counts.tcp,
      long_poll_held: this.poll.held,
      long_poll_answers: this.poll.answers,
      long_poll_last_release_ms: Math.round(this.poll.lastReleaseMs * 10) / 10,
      connections: counts.ws + counts.sse + counts.tcp,
      channels: hub.channels,
      max_connections: this.config.maxConnections,
      messages_in: this.ws.messagesIn + (this.tcp?.messagesIn ?? 0),
      messages_out: hub.messagesOut,
      publications: hub.publications,
      bus_catch_ups: hub.catchUps,
      bus_catch_up_failures: hub.catchUpFailures,
      recovery_failed_notices: hub.recoveryFailedNotices,
      history_channels: this.hub.history.channelCount,
      slow_clients_dropped: this.sse.slowClients + this.ws.slowClients + (this.tcp?.slowClients ?? 0),
      connections_refused_limit: this.gate.refusedNode,
      connections_refused_per_ip: this.gate.refusedAddress,
      client_addresses: this.gate.addresses,
      connection_slots: this.gate.inUse,
      handler_errors: this.guard.caught,
      auth_failures: this.ws.authFailures + this.sse.authFailures + this.poll.authFailures + (this.tcp?.authFailures ?? 0),
      token_expired_closes: this.ws.tokenExpiredCloses + this.sse.tokenExpiredCloses + (this.tcp?.tokenExpiredCloses ?? 0),
      token_refreshes: this.ws.tokenRefreshes,
      rate_limited_frames: this.ws.rateLimited + (this.tcp?.rateLimited ?? 0),
      rate_limit_closes: this.ws.rateLimitCloses + (this.tcp?.rateLimitCloses ?? 0),
      rate_limited_frames_bytes: this.ws.byteRateLimited,
      limits: limitsOf(this.config),
      webrtc_signals_relayed: this.ws.signaling.relayed,
      webrtc_signals_limited: this.ws.signaling.limited,
      uptime_seconds: Math.round((Date.now() - this.startedAt) / 1000),
      node_id: this.config.nodeId,
      cluster: this.bus !== null,
    };
    for (const c of this.components) if (c.stats) Object.assign(out, c.stats());
    return out;
  }

  async listen(): Promise<AddressInfo> {
    await this.app.listen({ host: this.config.host, port: this.config.port });
    if (this.tcp !== null && this.config.tcpPort !== undefined) await this.tcp.listen(this.config.host, this.config.tcpPort);
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
    if (!this.ws.handles(url.pathname)) return rejectSocket(socket, 404, ErrorCode.notFound, `no WebSocket endpoint at ${url.pathname}`);
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
    if (this.bus !== null) {
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
    if (this.bus !== null) {
      await this.bus.close();
    } else {
      await saveHistorySnapshot(this.config.dataDir, this.history, this.hub.ids).catch((err) =>
        this.log.warn({ err }, 'history snapshot not saved: clients resuming after restart get recovery_failed'),
      );
    }
    await this.app.close().catch((err) => this.log.warn({ err }, 'http app failed to close'));
  }
}

/** `target` is `path`, with or without a query. */
function isPath(target: string, path: string): boolean {
  return target.startsWith(path) && (target.length === path.length || target[path.length] === '?');
}

export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const gateway = new Gateway(config, options);
  return gateway.init(options.extensions);
}
