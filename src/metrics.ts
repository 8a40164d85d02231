import { Registry, Gauge, Counter, collectDefaultMetrics } from 'prom-client';

export type StatsSnapshot = () => Record<string, unknown>;

/**
 * Prometheus metrics. Gauges read the live stats on scrape, so the hot path
 * keeps plain counters and pays nothing for metrics.
 */
export function createMetrics(stats: StatsSnapshot): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hubcast_process_' });
  const num = (key: string) => Number(stats()[key] ?? 0);
  const gauge = (name: string, help: string, key: string) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(num(key)); } });
  const counter = (name: string, help: string, key: string) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        // Counters mirror monotonic totals kept elsewhere: set by difference.
        const target = num(key);
        const current = (this as unknown as { hashMap: Record<string, { value: number }> }).hashMap['']?.value ?? 0;
        if (target > current) this.inc(target - current);
      },
    });
  gauge('hubcast_websocket_connections', 'Open WebSocket connections', 'websocket_count');
  gauge('hubcast_sse_connections', 'Open SSE connections', 'sse_count');
  gauge('hubcast_channels', 'Channels with at least one local subscriber', 'channels');
  counter('hubcast_messages_in_total', 'Frames received from clients', 'messages_in');
  counter('hubcast_messages_out_total', 'Deliveries written to clients', 'messages_out');
  counter('hubcast_publications_total', 'Events published to channels', 'publications');
  counter('hubcast_bus_catch_ups_total', 'Cluster bus gaps caught up from durable history', 'bus_catch_ups');
  counter('hubcast_bus_catch_up_failures_total', 'Channels a bus catch-up could not prove complete (subscribers told recovery_failed)', 'bus_catch_up_failures');
  counter('hubcast_recovery_failed_notices_total', 'recovery_failed notices sent to connected clients after a failed catch-up', 'recovery_failed_notices');
  counter('hubcast_slow_clients_dropped_total', 'Connections dropped for a full outgoing buffer', 'slow_clients_dropped');
  counter('hubcast_events_applied_total', 'Broker events applied to the database', 'events_applied');
  counter('hubcast_events_dead_lettered_total', 'Broker events sent to catalog.dead', 'events_dead_lettered');
  counter('hubcast_connections_refused_limit_total', 'Connections refused at REALTIME_MAX_CONNECTIONS (503)', 'connections_refused_limit');
  counter('hubcast_connections_refused_per_ip_total', 'Connections refused at REALTIME_MAX_CONNECTIONS_PER_IP (429)', 'connections_refused_per_ip');
  gauge('hubcast_client_addresses', 'Distinct client addresses holding connections', 'client_addresses');
  gauge('hubcast_connection_slots', 'Connection slots held (open WS + SSE connections and handshakes in progress)', 'connection_slots');
  counter('hubcast_handler_errors_total', 'Exceptions a socket, upgrade or request handler threw, contained by the guard (0 when healthy)', 'handler_errors');
  counter('hubcast_auth_failures_total', 'Upgrades and streams refused 401', 'auth_failures');
  counter('hubcast_token_expired_closes_total', 'Connections ended because their token expired', 'token_expired_closes');
  counter('hubcast_rate_limited_frames_total', 'WS frames refused by the per-connection rate limit', 'rate_limited_frames');
  counter('hubcast_rate_limit_closes_total', 'WS connections closed 1008 for exceeding the rate limit', 'rate_limit_closes');
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
