import type { Logger } from 'pino';
import { MemoryIdempotencyStore } from './idempotency-memory.js';
import { RedisIdempotencyStore } from './idempotency-redis.js';

/** The answer a publish gave, replayed for a repeat of its Idempotency-Key. */
export interface StoredAnswer {
  status: number;
  body: unknown;
}

/**
 * What claiming a key found: it is ours to act on (`claimed`), an earlier request
 * with it finished (`done`, with its answer), one is still running (`pending`), or
 * the key came with a different request body (`mismatch`).
 */
export type Claim =
  | { state: 'claimed' }
  | { state: 'done'; answer: StoredAnswer }
  | { state: 'pending' }
  | { state: 'mismatch' };

/**
 * Idempotency keys of the server API: a repeat of a key within the window does
 * nothing and answers what the first request answered. One per node without
 * Redis; shared by the whole cluster with it (SET NX with a TTL), so a retry
 * that lands on another node is recognised too.
 */
export interface IdempotencyStore {
  /** Atomically claim `key` for a request whose body hashes to `fingerprint`. */
  claim(key: string, fingerprint: string): Promise<Claim>;
  /** The claimed request succeeded: keep its answer for the rest of the window. */
  complete(key: string, fingerprint: string, answer: StoredAnswer): Promise<void>;
  /** The claimed request failed: forget the key so a retry acts. */
  release(key: string): Promise<void>;
  ready(): boolean;
  close(): Promise<void>;
}

/** Idempotency-Key values: 1–128 visible ASCII characters (a UUID fits). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,128}$/;

export function createIdempotencyStore(options: {
  redisUrl?: string;
  prefix: string;
  ttlSeconds: number;
  logger: Logger;
}): IdempotencyStore {
  return options.redisUrl
    ? new RedisIdempotencyStore(options.redisUrl, options.prefix, options.ttlSeconds, options.logger)
    : new MemoryIdempotencyStore(options.ttlSeconds);
}
