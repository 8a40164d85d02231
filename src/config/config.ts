import { hostname } from 'node:os';
import type { KeyObject } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import { envSchema, type Env } from './schema.js';

/** Resolved, frozen configuration. Built once at boot; nothing reads process.env after that. */
export interface Config {
  host: string;
  port: number;
  databaseUrl?: string;
  brokerUrl?: string;
  redisUrl?: string;
  dataDir: string;
  websocketEnabled: boolean;
  sseEnabled: boolean;
  pollEnabled: boolean;
  pollMaxEvents: number;
  /** Raw TCP transport port; undefined = off. */
  tcpPort?: number;
  maxConnections: number;
  /** 0 = no per-address limit. */
  maxConnectionsPerIp: number;
  /** Frames/s per WS connection; 0 = no limit. */
  wsRateLimit: number;
  wsRateBurst: number;
  /** Bytes/s per WS connection; 0 = no limit. */
  wsRateLimitBytes: number;
  wsRateBurstBytes: number;
  /** Largest sdp / candidate of one WebRTC signal, bytes. */
  webrtcSignalMaxBytes: number;
  /** WebRTC signals/s per connection; 0 = no limit. */
  webrtcSignalRate: number;
  webrtcSignalBurst: number;
  jwtSecret?: string;
  /** Verifies RS256, PS256, ES256 or EdDSA tokens (JWT_PUBLIC_KEY). */
  jwtPublicKey?: KeyObject;
  /** Verifies asymmetric tokens by `kid` (JWT_JWKS_FILE). */
  jwtJwks?: JSONWebKeySet;
  /** With auth on, let token-less connections in on public channels (AUTH_ANONYMOUS). */
  authAnonymous: boolean;
  apiKey?: string;
  /** Without a key, the server API answers every address (API_OPEN). */
  apiOpen: boolean;
  /** A reverse proxy relays requests: loopback is not a local caller (TRUST_PROXY). */
  trustProxy: boolean;
  /** /metrics and /realtime/stats without the server API's rules (METRICS_PUBLIC). */
  metricsPublic: boolean;
  /** Accepted `aud` values (JWT_AUDIENCE); unset = not checked. */
  jwtAudience?: string[];
  /** Accepted `iss` values (JWT_ISSUER); unset = not checked. */
  jwtIssuer?: string[];
  /** Longest remaining validity a token may have, seconds; 0 = none (JWT_MAX_TTL_S). */
  jwtMaxTtlS: number;
  generatorIntervalMs: number;
  logLevel: Env['LOG_LEVEL'];
  logFormat: Env['LOG_FORMAT'];
  /** Per-component levels (LOG_LEVELS). */
  logLevels: Env['LOG_LEVELS'];
  historySize: number;
  /** Age bound of history for channels HISTORY_RETENTION does not name; 0 = none. */
  historyMaxAgeMs: number;
  /** Bytes of in-memory history over all channels; 0 = unbounded. */
  historyMaxBytes: number;
  wsMaxFrameBytes: number;
  clientBufferBytes: number;
  wsPingIntervalMs: number;
  sseHeartbeatMs: number;
  sseRetryMs: number;
  allowedOrigins: '*' | string[];
  /** Days of event log kept; 0 = forever (EVENT_LOG_RETENTION_DAYS). */
  eventLogRetentionDays: number;
  maxBodyBytes: number;
  uploadMaxBytes: number;
  /** Channel announcing uploads (UPLOAD_CHANNEL). */
  uploadChannel: string;
  channelsPerConnection: number;
  shutdownTimeoutMs: number;
  nodeId: string;
  historyRetention?: string;
  redisPrefix: string;
  /** Channel patterns with presence; empty = presence off. */
  presenceChannels: string[];
  presenceTtlMs: number;
  presenceDiffThreshold: number;
  presenceDiffIntervalMs: number;
  presenceDiffMaxMembers: number;
  /** Chat posts per second per user and node; 0 = no limit. */
  chatRateLimit: number;
  chatRateBurst: number;
  /** Seconds an Idempotency-Key is remembered. */
  idempotencyTtlS: number;
  ackTimeoutMs: number;
  inboxMax: number;
  inboxTtlS: number;
}

/** Thrown for a bad variable; the CLI prints `message` as its one line and exits 1. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`invalid configuration: ${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/**
 * Parse an environment (process.env by default). Empty strings count as unset,
 * as shells and .env files often leave them.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue.path[0] ?? 'environment');
    const shown = input[variable] === undefined ? '' : ` (got ${clip(JSON.stringify(input[variable]), 120)})`;
    throw new ConfigError(variable, `${clip(oneLine(issue.message), 300)}${shown}`);
  }
  if (parsed.data.API_OPEN && parsed.data.API_KEY !== undefined) {
    throw new ConfigError('API_OPEN', 'true while API_KEY is set: the key would be required anyway; unset one of them');
  }
  return Object.freeze(fromEnv(parsed.data));
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length === 0 ? undefined : items;
}

/**
 * The error is one line of bounded length whatever the value was: a value (or
 * a file error naming it) may hold line breaks or be megabytes long.
 */
function oneLine(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]+/g, ' ');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** Build a config from partial overrides on top of defaults (tests, embedding). */
export function makeConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({ ...loadConfig({}), ...overrides });
}

function fromEnv(e: Env): Config {
  return {
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    brokerUrl: e.BROKER_URL,
    redisUrl: e.REDIS_URL,
    dataDir: e.DATA_DIR,
    websocketEnabled: e.WEBSOCKET_ENABLED,
    sseEnabled: e.SSE_ENABLED,
    pollEnabled: e.POLL_ENABLED,
    pollMaxEvents: e.POLL_MAX_EVENTS,
    tcpPort: e.TCP_PORT,
    maxConnections: e.REALTIME_MAX_CONNECTIONS,
    maxConnectionsPerIp: e.REALTIME_MAX_CONNECTIONS_PER_IP,
    wsRateLimit: e.WS_RATE_LIMIT,
    wsRateBurst: e.WS_RATE_BURST,
    wsRateLimitBytes: e.WS_RATE_LIMIT_BYTES,
    wsRateBurstBytes: e.WS_RATE_BURST_BYTES,
    webrtcSignalMaxBytes: e.WEBRTC_SIGNAL_MAX_BYTES,
    webrtcSignalRate: e.WEBRTC_SIGNAL_RATE,
    webrtcSignalBurst: e.WEBRTC_SIGNAL_BURST,
    jwtSecret: e.JWT_SECRET,
    jwtPublicKey: e.JWT_PUBLIC_KEY,
    jwtJwks: e.JWT_JWKS_FILE,
    authAnonymous: e.AUTH_ANONYMOUS,
    apiKey: e.API_KEY,
    apiOpen: e.API_OPEN,
    trustProxy: e.TRUST_PROXY,
    metricsPublic: e.METRICS_PUBLIC,
    jwtAudience: list(e.JWT_AUDIENCE),
    jwtIssuer: list(e.JWT_ISSUER),
    jwtMaxTtlS: e.JWT_MAX_TTL_S,
    generatorIntervalMs: e.GENERATOR_INTERVAL_MS,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    logLevels: e.LOG_LEVELS,
    historySize: e.HISTORY_SIZE,
    historyMaxAgeMs: e.HISTORY_MAX_AGE_MS,
    historyMaxBytes: e.HISTORY_MAX_BYTES,
    wsMaxFrameBytes: e.WS_MAX_FRAME_BYTES,
    clientBufferBytes: e.CLIENT_BUFFER_BYTES,
    wsPingIntervalMs: e.WS_PING_INTERVAL_MS,
    sseHeartbeatMs: e.SSE_HEARTBEAT_MS,
    sseRetryMs: e.SSE_RETRY_MS,
    allowedOrigins:
      e.ALLOWED_ORIGINS === '*'
        ? '*'
        : e.ALLOWED_ORIGINS.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    maxBodyBytes: e.MAX_BODY_BYTES,
    uploadMaxBytes: e.UPLOAD_MAX_BYTES,
    uploadChannel: e.UPLOAD_CHANNEL,
    channelsPerConnection: e.CHANNELS_PER_CONNECTION,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    historyRetention: e.HISTORY_RETENTION,
    nodeId: e.NODE_ID ?? `${hostname()}-${process.pid}`,
    redisPrefix: e.REDIS_PREFIX,
    presenceChannels: e.PRESENCE_CHANNELS,
    presenceTtlMs: e.PRESENCE_TTL_MS,
    presenceDiffThreshold: e.PRESENCE_DIFF_THRESHOLD,
    presenceDiffIntervalMs: e.PRESENCE_DIFF_INTERVAL_MS,
    presenceDiffMaxMembers: e.PRESENCE_DIFF_MAX_MEMBERS,
    chatRateLimit: e.CHAT_RATE_LIMIT,
    chatRateBurst: e.CHAT_RATE_BURST,
    eventLogRetentionDays: e.EVENT_LOG_RETENTION_DAYS,
    idempotencyTtlS: e.IDEMPOTENCY_TTL_S,
    ackTimeoutMs: e.ACK_TIMEOUT_MS,
    inboxMax: e.INBOX_MAX,
    inboxTtlS: e.INBOX_TTL_S,
  };
}

/**
 * The limits in force, keyed like their variables in snake_case. `/realtime/stats`
 * shows them under `limits`, `/metrics` as `hubcast_limit{limit="…"}`.
 */
export function limitsOf(c: Config): Record<string, number> {
  return {
    max_connections: c.maxConnections,
    max_connections_per_ip: c.maxConnectionsPerIp,
    ws_rate_limit: c.wsRateLimit,
    ws_rate_burst: c.wsRateBurst,
    ws_rate_limit_bytes: c.wsRateLimitBytes,
    ws_rate_burst_bytes: c.wsRateBurstBytes,
    webrtc_signal_max_bytes: c.webrtcSignalMaxBytes,
    webrtc_signal_rate: c.webrtcSignalRate,
    webrtc_signal_burst: c.webrtcSignalBurst,
    ws_max_frame_bytes: c.wsMaxFrameBytes,
    client_buffer_bytes: c.clientBufferBytes,
    history_max_bytes: c.historyMaxBytes,
    max_body_bytes: c.maxBodyBytes,
    upload_max_bytes: c.uploadMaxBytes,
    channels_per_connection: c.channelsPerConnection,
    chat_rate_limit: c.chatRateLimit,
    chat_rate_burst: c.chatRateBurst,
    poll_max_events: c.pollMaxEvents,
  };
}
