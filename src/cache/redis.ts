import type { Redis } from 'ioredis';
import { ioredis } from '../lazy-deps.js';
import type { Logger } from '../logger.js';
import type { Cache } from './cache.js';
import { throttledWarn } from './throttle.js';

export interface RedisCacheOptions {
  /** Prepended to every key (tests use a unique one per run to share a server). */
  keyPrefix?: string;
  /** A command without a reply after this long rejects: a cache must never stall a request. */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Upper bound of the reconnect backoff. */
  maxReconnectDelayMs?: number;
}

const DEFAULTS = { keyPrefix: '', commandTimeoutMs: 500, connectTimeoutMs: 2000, maxReconnectDelayMs: 2000 };

/**
 * Redis as a binary-safe cache. Built so that Redis trouble costs latency
 * bounded by `commandTimeoutMs` and nothing more: no offline queue (commands
 * fail at once while disconnected instead of piling up), no resend of
 * unanswered commands, reconnect forever in the background, and an 'error'
 * listener so a connection error never becomes an uncaught exception.
 */
export class RedisCache implements Cache {
  readonly driver = 'redis' as const;
  private readonly client: Redis;
  private closed = false;

  constructor(url: string, logger: Logger, options: RedisCacheOptions = {}) {
    const opts = { ...DEFAULTS, ...options };
    const warn = throttledWarn(logger);
    this.client = new (ioredis().Redis)(url, {
      keyPrefix: opts.keyPrefix,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs,
      connectTimeout: opts.connectTimeoutMs,
      // Full-jitter exponential backoff; never returns null, so it never gives up.
      retryStrategy: (times) => Math.random() * Math.min(opts.maxReconnectDelayMs, 50 * 2 ** Math.min(times, 10)),
    });
    this.client.on('error', (err: Error) => warn({ err: err.message }, 'redis cache connection error'));
    this.client.on('ready', () => logger.info('redis cache connected'));
  }

  async get(key: string): Promise<Buffer | null> {
    return this.client.getBuffer(key);
  }

  async set(key: string, value: Buffer, ttlSeconds: number): Promise<void> {
    // EX takes whole seconds ≥ 1; round up so a short TTL never means "forever" or an error.
    await this.client.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)));
  }

  isReady(): boolean {
    return this.client.status === 'ready';
  }

  /** Resolves true once connected, false after `timeoutMs` (the client keeps trying). */
  async waitReady(timeoutMs: number): Promise<boolean> {
    if (this.isReady()) return true;
    // Not events.once: it rejects on the first 'error', and connection errors
    // are expected here while the client retries.
    return new Promise<boolean>((resolve) => {
      const done = (ready: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ready);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs).unref();
      this.client.on('ready', onReady);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // QUIT lets pending replies arrive; when not connected there is nothing to wait for.
    if (this.isReady()) {
      try {
        await this.client.quit();
        return;
      } catch {
        // quit failed (connection dropped meanwhile): fall through to a hard disconnect
      }
    }
    this.client.disconnect();
  }
}
