import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Hub } from '../hub/hub.js';
import type { AppChannels } from '../hub/app-channels.js';
import type { Authenticator } from '../auth/tokens.js';
import type { OriginPolicy } from '../transports/http/cors.js';
import type { ConnectionGate } from '../transports/connection-gate.js';
import type { HandlerGuard } from '../transports/guard.js';
import type { SignalRelay } from '../transports/webrtc/relay.js';
import { WsTransport } from '../transports/ws/transport.js';
import { SseTransport } from '../transports/sse/transport.js';
import { PollTransport } from '../transports/poll/transport.js';
import { TcpTransport } from '../transports/tcp/transport.js';

export interface Transports {
  ws: WsTransport;
  sse: SseTransport;
  poll: PollTransport;
  /** Raw TCP on TCP_PORT; null when unset. */
  tcp: TcpTransport | null;
}

/** What every transport shares: the hub, who may connect, and the channels applications own. */
export interface TransportDeps {
  hub: Hub;
  auth: Authenticator;
  origins: OriginPolicy;
  gate: ConnectionGate;
  guard: HandlerGuard;
  log: Logger;
  appChannels: AppChannels;
  /** Where WebRTC peer ids live: cluster-wide with Redis, this node's otherwise (undefined). */
  relay: SignalRelay | undefined;
}

/** The four transports, their options resolved from the config once. */
export function createTransports(config: Config, deps: TransportDeps): Transports {
  const { hub, auth, origins, gate, guard, log, appChannels } = deps;
  const ws = new WsTransport(
    hub,
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
        rate:
          config.webrtcSignalRate > 0 ? { perSecond: config.webrtcSignalRate, burst: config.webrtcSignalBurst } : null,
      },
      relay: deps.relay,
      appChannels,
    },
    auth,
    origins,
    gate,
    log.child({ component: 'ws' }),
    guard,
  );
  const sse = new SseTransport(
    hub,
    {
      enabled: config.sseEnabled,
      bufferBytes: config.clientBufferBytes,
      heartbeatMs: config.sseHeartbeatMs,
      retryMs: config.sseRetryMs,
      channelsPerConnection: config.channelsPerConnection,
      appChannels,
    },
    auth,
    origins,
    gate,
    guard,
  );
  const poll = new PollTransport(
    hub,
    {
      enabled: config.pollEnabled,
      maxEvents: config.pollMaxEvents,
      channelsPerConnection: config.channelsPerConnection,
      appChannels,
      maxPublishBytes: config.wsMaxFrameBytes,
      publishRate: config.wsRateLimit > 0 ? { perSecond: config.wsRateLimit, burst: config.wsRateBurst } : null,
    },
    auth,
    origins,
    gate,
    guard,
  );
  const tcp =
    config.tcpPort === undefined
      ? null
      : new TcpTransport(
          hub,
          {
            maxLineBytes: config.wsMaxFrameBytes,
            bufferBytes: config.clientBufferBytes,
            channelsPerConnection: config.channelsPerConnection,
            rate: config.wsRateLimit > 0 ? { perSecond: config.wsRateLimit, burst: config.wsRateBurst } : null,
            byteRate:
              config.wsRateLimitBytes > 0
                ? { perSecond: config.wsRateLimitBytes, burst: config.wsRateBurstBytes }
                : null,
            appChannels,
          },
          auth,
          gate,
          log.child({ component: 'tcp' }),
          guard,
        );
  return { ws, sse, poll, tcp };
}
