/**
 * The user inbox: events sent to a user (`user:<id>`) while the user had no
 * connection anywhere, kept until acknowledged — at most `max` per user (the
 * oldest go first past it), none older than `ttlS`. One interface, a driver
 * per file (inbox-memory.ts embedded, inbox-redis.ts with REDIS_URL), chosen
 * once at boot; test/ack/inbox-suite.ts runs against both.
 */
export interface InboxEntry {
  /** The event id (the same on every node). */
  id: number;
  event: string;
  /** `data` as JSON text. */
  dataJson: string;
  /** String data (SSE would carry it raw). */
  text: boolean;
  publishedAt: number;
}

export interface InboxOptions {
  /** INBOX_MAX: entries per user. */
  max: number;
  /** INBOX_TTL_S: an entry older than this is gone. */
  ttlS: number;
}

export interface InboxStats {
  /** Entries kept (memory driver; 0 with Redis, where the sizes are not scanned). */
  inbox_events: number;
  inbox_pushed: number;
  inbox_acked: number;
  /** Age of the oldest entry kept, ms (memory driver; 0 with Redis, which is not scanned). */
  inbox_oldest_age_ms: number;
}

export interface InboxStore {
  /** Keep `entry` for `userId` (ids need not arrive in order: entries are kept sorted by id). */
  push(userId: string, entry: InboxEntry): Promise<void>;
  /** What `userId` has not acknowledged, oldest (lowest id) first, expired entries left out. */
  list(userId: string): Promise<InboxEntry[]>;
  /** Remove every entry of `userId` with an id up to `id`; resolves how many went. */
  ack(userId: string, id: number): Promise<number>;
  stats(): InboxStats;
  close(): Promise<void>;
}
