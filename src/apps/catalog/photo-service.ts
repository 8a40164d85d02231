import type { Cache } from '../../cache/cache.js';
import { throttledWarn } from '../../cache/throttle.js';
import type { Logger } from '../../logger.js';
import type { CatalogRepository, Photo, PhotoMeta } from './repository.js';
import { SingleFlight } from './single-flight.js';

export type CacheStatus = 'HIT' | 'MISS';

export interface ServedPhoto extends Photo {
  cache: CacheStatus;
}

export interface PhotoServiceOptions {
  /** Lifetime of cached bytes. The key carries the version, so this only bounds memory. */
  ttlSeconds?: number;
  /** How long this node trusts the metadata (version, etag) it read; a changed photo shows up after at most this. */
  metaTtlMs?: number;
  /** Bound on remembered metadata entries (they are tiny; this only stops id-scanning from growing the map). */
  maxMetaEntries?: number;
}

/** Counters for /metrics and tests; plain fields, bumped on every request. */
export interface PhotoStats {
  hits: number;
  misses: number;
  /** Reads of photo bytes from the database (≤ misses thanks to single-flight). */
  dbReads: number;
  cacheErrors: number;
}

const DEFAULTS: Required<PhotoServiceOptions> = { ttlSeconds: 3600, metaTtlMs: 30_000, maxMetaEntries: 10_000 };

/**
 * Product photos, cache-aside. The cache key is `photo:<id>:v<version>:<etag>`,
 * so a new photo never meets stale bytes; the version and etag come from a
 * small in-process metadata map (refreshed every `metaTtlMs`), which also lets
 * a conditional GET be answered without touching bytes at all.
 *
 * Concurrent misses for one key share one database read (single-flight). A
 * failing cache is logged (at most once per 10 s) and bypassed: the photo is
 * still served from the database, reported as MISS.
 */
export class PhotoService {
  private readonly repository: CatalogRepository;
  private readonly cache: Cache;
  private readonly opts: Required<PhotoServiceOptions>;
  private readonly warn: (obj: object, msg: string) => void;
  private readonly _meta = new Map<number, { meta: PhotoMeta; expiresAt: number }>();
  private readonly metaFlight = new SingleFlight<number, PhotoMeta | null>();
  private readonly photoFlight = new SingleFlight<string, Photo | null>();
  readonly stats: PhotoStats = { hits: 0, misses: 0, dbReads: 0, cacheErrors: 0 };

  constructor(
    deps: { repository: CatalogRepository; cache: Cache; logger: Logger },
    options: PhotoServiceOptions = {},
  ) {
    this.repository = deps.repository;
    this.cache = deps.cache;
    this.opts = { ...DEFAULTS, ...options };
    this.warn = throttledWarn(deps.logger.child({ component: 'photos' }));
  }

  /** Cache key for a photo version, under REDIS_PREFIX in Redis. Part of ops knowledge: `hubcast:photo:7:v1:"abc…"`. */
  static key(id: number, meta: PhotoMeta): string {
    return `photo:${id}:v${meta.version}:${meta.etag}`;
  }

  /** Content type, etag and version of a product's photo; null when there is none. */
  async meta(id: number): Promise<PhotoMeta | null> {
    const known = this._meta.get(id);
    if (known && known.expiresAt > performance.now()) return known.meta;
    return this.metaFlight.do(id, async () => {
      const meta = await this.repository.photoMeta(id);
      this.remember(id, meta);
      return meta;
    });
  }

  /** The photo bytes and how they were found; null when the product has no photo. */
  async get(id: number): Promise<ServedPhoto | null> {
    const meta = await this.meta(id);
    if (!meta) return null;
    const key = PhotoService.key(id, meta);

    const cached = await this.cacheGet(key);
    if (cached) {
      this.stats.hits++;
      return { ...meta, bytes: cached, cache: 'HIT' };
    }
    this.stats.misses++;

    const photo = await this.photoFlight.do(key, async () => {
      this.stats.dbReads++;
      const fresh = await this.repository.getPhoto(id);
      if (!fresh) {
        this.remember(id, null);
        return null;
      }
      this.remember(id, fresh);
      // Awaited (bounded by the cache's own timeout) so the next request finds it.
      await this.cacheSet(PhotoService.key(id, fresh), fresh.bytes);
      return fresh;
    });
    return photo ? { ...photo, cache: 'MISS' } : null;
  }

  private async cacheGet(key: string): Promise<Buffer | null> {
    try {
      return await this.cache.get(key);
    } catch (err) {
      this.stats.cacheErrors++;
      this.warn(
        { err: (err as Error).message, driver: this.cache.driver },
        'photo cache read failed; serving from the database',
      );
      return null;
    }
  }

  private async cacheSet(key: string, bytes: Buffer): Promise<void> {
    try {
      await this.cache.set(key, bytes, this.opts.ttlSeconds);
    } catch (err) {
      this.stats.cacheErrors++;
      this.warn({ err: (err as Error).message, driver: this.cache.driver }, 'photo cache write failed');
    }
  }

  private remember(id: number, meta: PhotoMeta | null): void {
    // Unknown ids are not remembered: the map holds real photos only, so it stays small.
    if (!meta) {
      this._meta.delete(id);
      return;
    }
    if (this._meta.size >= this.opts.maxMetaEntries && !this._meta.has(id)) this._meta.clear();
    const { contentType, etag, version } = meta;
    this._meta.set(id, { meta: { contentType, etag, version }, expiresAt: performance.now() + this.opts.metaTtlMs });
  }
}
