import { Registry, Gauge, Counter, collectDefaultMetrics } from 'prom-client';
import type { MetricSpec } from './application.js';

export type StatsSnapshot = () => Record<string, unknown>;

/**
 * Every numeric `/realtime/stats` field of the core and its metric: `counter`
 * for totals that only grow (`_total` names), `gauge` for current values.
 * Applications add theirs (`metrics` in their registration). A stats field
 * without a metric is a field operators cannot alert on; the metrics test
 * checks that none is missing.
 */
export const STAT_METRICS: Record<string, MetricSpec> = {
  websocket_count: { name: 'hubcast_websocket_connections', help: 'Open WebSocket connections', kind: 'gauge' },
  sse_count: { name: 'hubcast_sse_connections', help: 'Open SSE connections', kind: 'gauge' },
  tcp_count: { name: 'hubcast_tcp_connections', help: 'Open raw TCP connections', kind: 'gauge' },
  long_poll_held: { name: 'hubcast_long_polls_held', help: 'Long polls held open waiting for an event', kind: 'gauge' },
  long_poll_answers: { name: 'hubcast_long_poll_answers_total', help: 'Long polls answered', kind: 'counter' },
  long_poll_last_release_ms: {
    name: 'hubcast_long_poll_last_release_ms',
    help: 'Milliseconds the last release of held long polls took',
    kind: 'gauge',
  },
  connections: { name: 'hubcast_connections', help: 'Open WebSocket + SSE connections', kind: 'gauge' },
  channels: { name: 'hubcast_channels', help: 'Channels with at least one local subscriber', kind: 'gauge' },
  history_channels: { name: 'hubcast_history_channels', help: 'Channels with history kept in memory', kind: 'gauge' },
  client_addresses: {
    name: 'hubcast_client_addresses',
    help: 'Distinct client addresses holding connections',
    kind: 'gauge',
  },
  uptime_seconds: { name: 'hubcast_uptime_seconds', help: 'Seconds since this gateway started', kind: 'gauge' },
  messages_in: { name: 'hubcast_messages_in_total', help: 'Frames received from clients', kind: 'counter' },
  messages_out: { name: 'hubcast_messages_out_total', help: 'Deliveries written to clients', kind: 'counter' },
  publications: { name: 'hubcast_publications_total', help: 'Events published to channels', kind: 'counter' },
  slow_clients_dropped: {
    name: 'hubcast_slow_clients_dropped_total',
    help: 'Connections dropped for a full outgoing buffer',
    kind: 'counter',
  },
  connections_refused_limit: {
    name: 'hubcast_connections_refused_limit_total',
    help: 'Connections refused at REALTIME_MAX_CONNECTIONS (503)',
    kind: 'counter',
  },
  connections_refused_per_ip: {
    name: 'hubcast_connections_refused_per_ip_total',
    help: 'Connections refused at REALTIME_MAX_CONNECTIONS_PER_IP (429)',
    kind: 'counter',
  },
  auth_failures: { name: 'hubcast_auth_failures_total', help: 'Upgrades and streams refused 401', kind: 'counter' },
  ack_subscriptions: {
    name: 'hubcast_ack_subscriptions',
    help: 'ack: true subscriptions (and delivered inboxes) on this node',
    kind: 'gauge',
  },
  ack_redelivered: {
    name: 'hubcast_ack_redelivered_total',
    help: 'Events sent again for want of an ack',
    kind: 'counter',
  },
  ack_window_overflows: {
    name: 'hubcast_ack_window_overflows_total',
    help: 'Connections dropped for too many unacknowledged events',
    kind: 'counter',
  },
  acks: { name: 'hubcast_acks_total', help: 'ack commands taken', kind: 'counter' },
  ack_position_write_failures: {
    name: 'hubcast_ack_position_write_failures_total',
    help: 'Acknowledged positions not stored (Redis away): those events are redelivered next session',
    kind: 'counter',
  },
  inbox_events: {
    name: 'hubcast_inbox_events',
    help: 'Events kept in user inboxes (embedded; 0 with Redis)',
    kind: 'gauge',
  },
  inbox_pushed: {
    name: 'hubcast_inbox_pushed_total',
    help: 'Sends kept for a user with no connection',
    kind: 'counter',
  },
  inbox_acked: { name: 'hubcast_inbox_acked_total', help: 'Inbox events removed by an ack', kind: 'counter' },
  inbox_oldest_age_ms: {
    name: 'hubcast_inbox_oldest_age_ms',
    help: 'Age of the oldest inbox event (embedded; 0 with Redis)',
    kind: 'gauge',
  },
  inbox_delivered: {
    name: 'hubcast_inbox_delivered_total',
    help: 'Inbox events written to connecting users',
    kind: 'counter',
  },
  token_expired_closes: {
    name: 'hubcast_token_expired_closes_total',
    help: 'Connections ended because their token expired',
    kind: 'counter',
  },
  token_refreshes: {
    name: 'hubcast_token_refreshes_total',
    help: 'Tokens replaced on a live WS or TCP connection (refresh_token command)',
    kind: 'counter',
  },
  rate_limited_frames: {
    name: 'hubcast_rate_limited_frames_total',
    help: 'Client messages refused by the message rate (WS and TCP frames per connection, POST /realtime/poll per user or address)',
    kind: 'counter',
  },
  rate_limit_closes: {
    name: 'hubcast_rate_limit_closes_total',
    help: 'WS connections closed 1008 for exceeding the rate limit',
    kind: 'counter',
  },
  webrtc_signals_relayed: {
    name: 'hubcast_webrtc_signals_relayed_total',
    help: 'WebRTC signals relayed to a peer',
    kind: 'counter',
  },
  bus_catch_ups: {
    name: 'hubcast_bus_catch_ups_total',
    help: 'Cluster bus gaps caught up from durable history',
    kind: 'counter',
  },
  bus_catch_up_failures: {
    name: 'hubcast_bus_catch_up_failures_total',
    help: 'Channels a bus catch-up could not prove complete (subscribers told recovery_failed)',
    kind: 'counter',
  },
  recovery_failed_notices: {
    name: 'hubcast_recovery_failed_notices_total',
    help: 'recovery_failed notices sent to connected clients after a failed catch-up',
    kind: 'counter',
  },
  connection_slots: {
    name: 'hubcast_connection_slots',
    help: 'Connection slots held (open WS + SSE connections and handshakes in progress)',
    kind: 'gauge',
  },
  handler_errors: {
    name: 'hubcast_handler_errors_total',
    help: 'Exceptions a socket, upgrade or request handler threw, contained by the guard (0 when healthy)',
    kind: 'counter',
  },
  rate_limited_frames_bytes: {
    name: 'hubcast_rate_limited_frames_bytes_total',
    help: 'WS frames refused by the per-connection byte budget',
    kind: 'counter',
  },
  webrtc_signals_limited: {
    name: 'hubcast_webrtc_signals_limited_total',
    help: 'WebRTC signals refused by the size or rate limit',
    kind: 'counter',
  },
  publish_unavailable: {
    name: 'hubcast_publish_unavailable_total',
    help: 'Server API publishes answered 503 because the cluster bus was down',
    kind: 'counter',
  },
  idempotent_replays: {
    name: 'hubcast_idempotent_replays_total',
    help: 'Server API publishes answered from an earlier request with the same Idempotency-Key',
    kind: 'counter',
  },
};

/** Numeric stats fields that are not metrics of their own: `max_connections` is `hubcast_limit{limit="max_connections"}`. */
export const STATS_NOT_METRICS = new Set(['max_connections']);

/**
 * Prometheus metrics. Every metric reads the live stats on scrape, so the hot
 * path keeps plain counters and pays nothing for metrics.
 */
export function createMetrics(stats: StatsSnapshot, specs: Readonly<Record<string, MetricSpec>>): Registry {
  const registry = new Registry();
  // No prefix: the standard names (`process_cpu_user_seconds_total`,
  // `nodejs_heap_size_used_bytes`, …) are what the usual Node.js dashboards
  // query; hubcast's own metrics carry `hubcast_`.
  collectDefaultMetrics({ register: registry });
  // One stats snapshot per scrape, not one per metric.
  let snapshot: Record<string, unknown> = {};
  let takenAt = -1;
  const num = (key: string) => {
    const now = Date.now();
    if (now !== takenAt) {
      snapshot = stats();
      takenAt = now;
    }
    return Number(snapshot[key] ?? 0);
  };
  for (const [key, m] of Object.entries(specs)) {
    if (m.kind === 'gauge') {
      new Gauge({
        name: m.name,
        help: m.help,
        registers: [registry],
        collect() {
          this.set(num(key));
        },
      });
    } else {
      new Counter({
        name: m.name,
        help: m.help,
        registers: [registry],
        collect() {
          // Counters mirror monotonic totals kept elsewhere: set by difference.
          const target = num(key);
          const current = (this as unknown as { hashMap: Record<string, { value: number }> }).hashMap['']?.value ?? 0;
          if (target > current) this.inc(target - current);
        },
      });
    }
  }
  new Gauge({
    name: 'hubcast_cluster',
    help: '1 when this node is on a cluster bus (REDIS_URL), else 0',
    registers: [registry],
    collect() {
      this.set(stats().cluster === true ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hubcast_limit',
    help: 'Configured limits (0 = off where the variable allows it)',
    labelNames: ['limit'],
    registers: [registry],
    collect() {
      const limits = stats().limits as Record<string, number> | undefined;
      for (const [limit, value] of Object.entries(limits ?? {})) this.set({ limit }, value);
    },
  });
  return registry;
}
