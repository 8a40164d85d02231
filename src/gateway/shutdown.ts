import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Component } from '../application.js';
import type { Hub } from '../hub/hub.js';
import type { ClusterBus } from '../bus/index.js';
import { CloseCode } from '../codes.js';
import type { Transports } from './transports.js';
import type { GatewayPresence } from './presence.js';

/** Everything the gateway took that a close releases. */
export interface Holdings extends Transports {
  app: FastifyInstance;
  hub: Hub;
  bus: ClusterBus;
  presence: GatewayPresence;
  /** In order of registration; closed in reverse. */
  components: readonly Component[];
  log: Logger;
}

/**
 * Graceful shutdown: stop accepting, deliver what is queued, close WS clients
 * with 1012 (they reconnect), end SSE streams (they resume with
 * Last-Event-ID), then release every component, presence, the bus and the
 * HTTP app. `deadline`: SHUTDOWN_TIMEOUT_MS.
 */
export async function shutdown(h: Holdings, deadline: number): Promise<void> {
  const serverClosed = new Promise<void>((resolve) => h.app.server.close(() => resolve()));
  const closeComponents = async () => {
    for (const c of [...h.components].reverse()) {
      await c.close().catch((err) => h.log.warn({ err, component: c.name }, 'component failed to close'));
    }
  };
  const releaseClients = async () => {
    h.hub.flush();
    h.sse.closeAll();
    h.poll.closeAll();
    h.tcp?.closeAll();
    await h.ws.closeAll(CloseCode.serviceRestart, 'server restart', Math.min(3000, deadline / 2));
    h.ws.stop();
  };
  if (h.bus.clustered) {
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
  h.app.server.closeAllConnections?.();
  await Promise.race([serverClosed, new Promise((r) => setTimeout(r, 1000).unref())]);
  // The closes above announced presence.leave for every client: let those go out on the bus.
  await h.presence.current?.close().catch((err) => h.log.warn({ err }, 'presence failed to close'));
  // Alone, this saves the history for the next start (bus/memory.ts).
  await h.bus.close();
  await h.app.close().catch((err) => h.log.warn({ err }, 'http app failed to close'));
}

/**
 * A start that failed (an application's registration threw): release what
 * was already opened (applications' pools and sockets, the transports'
 * timers, presence, the bus) before the error reaches the caller.
 */
export async function releaseAfterFailedStart(h: Omit<Holdings, 'app' | 'hub' | 'log'>): Promise<void> {
  for (const c of [...h.components].reverse()) await c.close().catch(() => undefined);
  h.ws.stop();
  h.sse.stop();
  h.poll.stop();
  h.tcp?.stop();
  await h.presence.current?.close();
  await h.bus.close();
}
