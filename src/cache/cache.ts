/**
 * A binary-safe key/value cache with TTLs: Redis (redis.ts) or an in-process
 * LRU (memory.ts). Chosen once at boot by `createCache`.
 */
export interface Cache {
  readonly driver: 'redis' | 'memory';
  /** The cached bytes, or null on a miss. Rejects when the cache is unreachable. */
  get(key: string): Promise<Buffer | null>;
  set(key: string, value: Buffer, ttlSeconds: number): Promise<void>;
  isReady(): boolean;
  close(): Promise<void>;
}
