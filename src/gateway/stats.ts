import type { Config } from '../config/config.js';
import { limitsOf } from '../config/config.js';
import type { Component } from '../application.js';
import type { Hub } from '../hub/hub.js';
import type { ConnectionGate } from '../transports/connection-gate.js';
import type { HandlerGuard } from '../transports/guard.js';
import type { Transports } from './transports.js';

export interface StatsSources extends Transports {
  config: Config;
  hub: Hub;
  gate: ConnectionGate;
  guard: HandlerGuard;
  components: readonly Component[];
  startedAt: number;
  clustered: boolean;
}

/** `/realtime/stats`: the core's figures, then each component's (applications' included). */
export function gatewayStats(s: StatsSources): Record<string, unknown> {
  const { ws, sse, poll, tcp } = s;
  const counts = s.hub.countByTransport();
  const hub = s.hub.stats();
  const out: Record<string, unknown> = {
    websocket_count: counts.ws,
    sse_count: counts.sse,
    tcp_count: counts.tcp,
    long_poll_held: poll.held,
    long_poll_answers: poll.answers,
    long_poll_last_release_ms: Math.round(poll.lastReleaseMs * 10) / 10,
    connections: counts.ws + counts.sse + counts.tcp,
    channels: hub.channels,
    max_connections: s.config.maxConnections,
    messages_in: ws.messagesIn + (tcp?.messagesIn ?? 0),
    messages_out: hub.messagesOut,
    publications: hub.publications,
    bus_catch_ups: hub.catchUps,
    bus_catch_up_failures: hub.catchUpFailures,
    recovery_failed_notices: hub.recoveryFailedNotices,
    history_channels: s.hub.history.channelCount,
    slow_clients_dropped: sse.slowClients + ws.slowClients + (tcp?.slowClients ?? 0),
    connections_refused_limit: s.gate.refusedNode,
    connections_refused_per_ip: s.gate.refusedAddress,
    client_addresses: s.gate.addresses,
    connection_slots: s.gate.inUse,
    handler_errors: s.guard.caught,
    auth_failures: ws.authFailures + sse.authFailures + poll.authFailures + (tcp?.authFailures ?? 0),
    token_expired_closes: ws.tokenExpiredCloses + sse.tokenExpiredCloses + (tcp?.tokenExpiredCloses ?? 0),
    token_refreshes: ws.tokenRefreshes + (tcp?.tokenRefreshes ?? 0),
    rate_limited_frames: ws.rateLimited + (tcp?.rateLimited ?? 0) + poll.rateLimited,
    rate_limit_closes: ws.rateLimitCloses + (tcp?.rateLimitCloses ?? 0),
    rate_limited_frames_bytes: ws.byteRateLimited,
    limits: limitsOf(s.config),
    webrtc_signals_relayed: ws.signaling.relayed,
    webrtc_signals_limited: ws.signaling.limited,
    uptime_seconds: Math.round((Date.now() - s.startedAt) / 1000),
    node_id: s.config.nodeId,
    cluster: s.clustered,
  };
  for (const c of s.components) if (c.stats) Object.assign(out, c.stats());
  return out;
}
