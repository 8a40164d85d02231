import { z } from 'zod';
import { RetentionPolicy } from '../hub/retention.js';
import { readJwksFile, readPublicKey } from '../auth/keys.js';

/** Env strings "true"/"false"/"1"/"0"/"yes"/"no" → boolean; anything else is an error naming the value. */
const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(v), {
    message: 'expected true or false',
  })
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: 'expected a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol);
        } catch {
          return false; // `new URL` throws on anything that is not a URL: that is the answer
        }
      },
      { message: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
    );

/** A value that names key material: loaded at parse time, so a bad file fails the start like any bad value. */
const loaded = <T>(load: (value: string) => T) =>
  z
    .string()
    .trim()
    .min(1)
    .transform((value, ctx): T => {
      try {
        return load(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    });

/**
 * Every environment variable hubcast reads, with its default. Defaults are the
 * embedded single-process setup of `npm start`.
 */
export const envSchema = z.object({
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(8000),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  BROKER_URL: url(['amqp:', 'amqps:']).optional(),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  DATA_DIR: z.string().trim().min(1).default('./data'),
  WEBSOCKET_ENABLED: bool.default(true),
  SSE_ENABLED: bool.default(true),
  /** Long polling, GET /realtime/poll. */
  POLL_ENABLED: bool.default(true),
  /** Events in one long-poll answer at most; the client continues from its `last_id`. */
  POLL_MAX_EVENTS: int(1, 10_000).default(1000),
  /** Raw TCP transport (newline-delimited JSON frames) on HOST:TCP_PORT; unset = off. */
  TCP_PORT: int(0, 65535).optional(),
  REALTIME_MAX_CONNECTIONS: int(1, 1_000_000).default(10_000),
  /**
   * WS + SSE connections from one client address (IPv6: one /64); over it the
   * upgrade or stream is refused with 429. 0 = no per-address limit. Behind a
   * proxy every client shares the proxy's address: raise it or set 0 there.
   */
  REALTIME_MAX_CONNECTIONS_PER_IP: int(0, 1_000_000).default(1000),
  /**
   * Frames per second one WS connection may send (token bucket refill); 0 = no
   * limit. Frames over it are refused with `error` frames `rate_limited`.
   */
  WS_RATE_LIMIT: int(0, 1_000_000).default(100),
  /**
   * Token-bucket size: frames a WS connection may send at once. A client that
   * gets this many frames refused without letting its bucket fill up again is
   * closed with 1008.
   */
  WS_RATE_BURST: int(1, 1_000_000).default(200),
  /**
   * Bytes per second one WS connection may send (token bucket refill); 0 = no
   * limit. A frame over it is refused with an `error` frame `rate_limited` and
   * the connection's reading paused until its bucket holds that frame again.
   */
  WS_RATE_LIMIT_BYTES: int(0, 1024 * 1024 * 1024).default(1024 * 1024),
  /**
   * Byte bucket size: what a WS connection may send at once. Taken as at least
   * WS_MAX_FRAME_BYTES, so that one largest frame always passes on a full bucket.
   */
  WS_RATE_BURST_BYTES: int(1, 1024 * 1024 * 1024).default(2 * 1024 * 1024),
  /** Largest `sdp`, and largest `candidate`, of a `webrtc_signal` (bytes); over it: `payload_too_large`. */
  WEBRTC_SIGNAL_MAX_BYTES: int(256, 64 * 1024 * 1024).default(64 * 1024),
  /** `webrtc_signal` frames per second per connection (token bucket refill); 0 = no limit. Over it: `rate_limited`. */
  WEBRTC_SIGNAL_RATE: int(0, 1_000_000).default(20),
  /** Signal bucket size: what ICE gathering may send at once. */
  WEBRTC_SIGNAL_BURST: int(1, 1_000_000).default(50),
  /**
   * HS256 secret. At least 32 bytes (RFC 7518 §3.2: the key as long as the hash): a short
   * secret can be brute-forced from one token, so it is refused at start.
   */
  JWT_SECRET: z
    .string()
    .min(1)
    .refine((s) => Buffer.byteLength(s) >= 32, { message: 'must be at least 32 bytes (e.g. `openssl rand -hex 32`)' })
    .optional(),
  /**
   * Public key for RS256, PS256, ES256 or EdDSA tokens (and their 384/512 kin): PEM inline (`\n` escapes allowed) or
   * the path of a PEM file. Auth is on when this, JWT_SECRET or JWT_JWKS_FILE is set.
   */
  JWT_PUBLIC_KEY: loaded(readPublicKey).optional(),
  /** Path of a JWKS file (`{"keys":[...]}`, public keys; tokens pick theirs by `kid`). */
  JWT_JWKS_FILE: loaded(readJwksFile).optional(),
  /**
   * With auth on, a connection without any token is let in as anonymous: the
   * channels applications publish to themselves only (`products`, `product:*`
   * with the catalog; UPLOAD_CHANNEL), no publishing.
   * A bad token is still refused 401.
   */
  AUTH_ANONYMOUS: bool.default(false),
  API_KEY: z.string().min(1).optional(),
  /**
   * Without API_KEY, let the server API answer every address, not only local
   * callers. Dangerous: anyone who reaches the port publishes to every client.
   * Refused at start together with API_KEY (the key would win, silently).
   */
  API_OPEN: bool.default(false),
  /**
   * A reverse proxy relays requests to this gateway: requests from loopback
   * are no longer taken as local callers, so the server API needs API_KEY.
   */
  TRUST_PROXY: bool.default(false),
  /** false: /metrics and /realtime/stats follow the server API's rules (API_KEY, or local callers). */
  METRICS_PUBLIC: bool.default(true),
  /** Comma-separated accepted `aud` values: a token must name one. Unset: `aud` is not checked. */
  JWT_AUDIENCE: z.string().trim().min(1).optional(),
  /** Comma-separated accepted `iss` values: a token must carry one. Unset: `iss` is not checked. */
  JWT_ISSUER: z.string().trim().min(1).optional(),
  /**
   * Longest a token may still be valid when presented, in seconds: a token
   * without `exp`, or with `exp` further ahead, is refused. 0 = no maximum.
   */
  JWT_MAX_TTL_S: int(0, 10 * 365 * 86_400).default(0),
  GENERATOR_INTERVAL_MS: int(1, 86_400_000).default(1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: readable lines on a terminal, JSON otherwise; `json` / `pretty` force one. */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /** Per-component levels over LOG_LEVEL, `component=level,…` (e.g. `ws=debug,http=warn`). */
  LOG_LEVELS: z
    .string()
    .trim()
    .default('')
    .transform((raw, ctx) => {
      const levels: Record<string, 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'> = {};
      for (const item of raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const m = /^([A-Za-z0-9_.-]+)=(fatal|error|warn|info|debug|trace|silent)$/.exec(item);
        if (m === null) {
          ctx.addIssue({
            code: 'custom',
            message: `${JSON.stringify(item.slice(0, 40))} is not component=level (level: fatal, error, warn, info, debug, trace or silent)`,
          });
          return z.NEVER;
        }
        levels[m[1]] = m[2] as (typeof levels)[string];
      }
      return levels;
    }),
  /**
   * Events kept per channel for resume (in memory, and in Redis with a
   * cluster). Sized with HISTORY_MAX_AGE_MS and HISTORY_MAX_BYTES so that a
   * client's resume covers a node restart (≥ 2 minutes at 1,000 events/s):
   * time is the bound that matters, this one rarely binds.
   */
  HISTORY_SIZE: int(0, 1_000_000).default(200_000),
  /** Events older than this are not kept for resume (channels HISTORY_RETENTION does not name); 0 = no age bound. */
  HISTORY_MAX_AGE_MS: int(0, 30 * 86_400_000).default(600_000),
  /**
   * Bytes of history kept over all channels (in-memory, estimated); over it
   * the oldest publications go first, whatever their channel, and a resume
   * from before them gets recovery_failed. 0 = no byte bound (HISTORY_SIZE and
   * the channel bound only).
   */
  HISTORY_MAX_BYTES: int(0, 64 * 1024 * 1024 * 1024).default(256 * 1024 * 1024),
  /** Largest WS frame accepted; bigger closes the socket with 1009. */
  WS_MAX_FRAME_BYTES: int(64, 64 * 1024 * 1024).default(1024 * 1024),
  /** Per-connection outgoing buffer bound; a client over it is dropped (slow-client policy). */
  CLIENT_BUFFER_BYTES: int(1024, 1024 * 1024 * 1024).default(4 * 1024 * 1024),
  /** WS ping interval; a peer that misses one full interval is dropped. */
  WS_PING_INTERVAL_MS: int(100, 600_000).default(25_000),
  SSE_HEARTBEAT_MS: int(100, 600_000).default(15_000),
  SSE_RETRY_MS: int(0, 600_000).default(2000),
  /** Comma-separated origins allowed for CORS and WS Origin; `*` allows any. */
  ALLOWED_ORIGINS: z.string().trim().default('*'),
  MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  UPLOAD_MAX_BYTES: int(1024, 1024 * 1024 * 1024).default(10 * 1024 * 1024),
  /**
   * Channel that announces uploads (`file.uploaded`). `files` is joinable by every connection;
   * `user:<id>` keeps announcements to one user, any other name to tokens granting it.
   */
  UPLOAD_CHANNEL: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_\-:.@/=]{1,128}$/, { message: 'a channel name: 1-128 of letters, digits and _ - : . @ / =' })
    .default('files'),
  CHANNELS_PER_CONNECTION: int(1, 100_000).default(100),
  SHUTDOWN_TIMEOUT_MS: int(100, 60_000).default(8000),
  /** Per-pattern history retention: `chat:*=500/1h,products=1000/10m` (first match wins; others keep HISTORY_SIZE). */
  HISTORY_RETENTION: z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          RetentionPolicy.parse(v, { count: 1, maxAgeMs: 0 });
          return true;
        } catch {
          return false; // the message below says which form is expected
        }
      },
      {
        message:
          'expected comma-separated pattern=count or pattern=count/age (age like 90s, 10m, 24h), e.g. chat:*=500/1h',
      },
    )
    .optional(),
  /** This node's name in the cluster (logs, stats, bus messages); default: host-pid. */
  NODE_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'letters, digits and _ . : - (1-64)' })
    .optional(),
  /** Namespace of every Redis key and bus channel hubcast uses. */
  REDIS_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'letters, digits and _ . : - (1-64)' })
    .default('hubcast:'),
  /**
   * Comma-separated channel patterns with presence (`chat:*,room:?`); unset = none. Cluster-wide
   * with REDIS_URL: `GET /realtime/channels/:channel/presence` and presence.join/leave events.
   */
  PRESENCE_CHANNELS: z
    .string()
    .trim()
    .transform((v) =>
      v
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.string().regex(/^[A-Za-z0-9_.:@*?-]{1,128}$/, {
          message: 'patterns: letters, digits, _ . : @ - and the wildcards * ?',
        }),
      ),
    )
    .default([]),
  /** A presence entry lives this long without a heartbeat (a crashed node's clients drop out after it). */
  PRESENCE_TTL_MS: int(300, 3_600_000).default(30_000),
  /**
   * From this many members on a channel (cluster-wide), its joins and leaves go out coalesced: one
   * `presence.diff` per PRESENCE_DIFF_INTERVAL_MS from each node instead of one event per member.
   */
  PRESENCE_DIFF_THRESHOLD: int(1, 1_000_000).default(100),
  /** How often a coalesced channel's `presence.diff` goes out. */
  PRESENCE_DIFF_INTERVAL_MS: int(50, 60_000).default(1000),
  /**
   * Members a `presence.diff` lists in `joined` and in `left`, at most (its counts stay exact): every
   * subscriber of a big room receives every diff, so this bounds presence bytes per subscriber.
   */
  PRESENCE_DIFF_MAX_MEMBERS: int(0, 10_000).default(10),
  /** Chat posts per second one user may make, per node (token-bucket refill); 0 = no limit. Over it: `rate_limited`. */
  CHAT_RATE_LIMIT: int(0, 100_000).default(5),
  /** Chat posts one user may make at once before CHAT_RATE_LIMIT applies. */
  CHAT_RATE_BURST: int(1, 100_000).default(20),
  /**
   * Days of event log kept (docs/event-log.md); older rows are compacted hourly into each product's
   * baseline state. 0 = kept forever.
   */
  EVENT_LOG_RETENTION_DAYS: int(0, 36_500).default(0),
  /** Seconds an Idempotency-Key of the server API is remembered (a repeat within it publishes nothing). */
  IDEMPOTENCY_TTL_S: int(1, 7 * 86_400).default(86_400),
  /** `ack: true` subscriptions: an event not acknowledged this long is sent again, marked `redelivered`. */
  ACK_TIMEOUT_MS: int(100, 3_600_000).default(10_000),
  /** Events kept per user for delivery when the user next connects (the oldest go first past it). */
  INBOX_MAX: int(1, 100_000).default(1000),
  /** An inbox event older than this is not delivered any more. */
  INBOX_TTL_S: int(1, 90 * 86_400).default(604_800),
});

export type Env = z.infer<typeof envSchema>;
