import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Hub } from '../hub/hub.js';
import { Presence, type PresencePage } from '../hub/presence.js';
import { MemoryPresenceStore } from '../hub/presence-memory.js';
import { RedisPresenceStore } from '../bus/presence-redis.js';

/**
 * The gateway's presence, made on the first patterns that ask for it
 * (PRESENCE_CHANNELS at boot, applications' `presence: true` channels later):
 * cluster-wide with Redis, this node's otherwise. Until then `current` is null
 * and no channel has presence.
 */
export class GatewayPresence {
  private presence: Presence | null = null;

  constructor(
    private readonly config: Config,
    private readonly hub: Hub,
    private readonly log: Logger,
  ) {}

  /** Read when asked, never kept: applications add presence after the routes are registered. */
  get current(): Presence | null {
    return this.presence;
  }

  /** Presence on channels matching `patterns` too. */
  add(patterns: readonly string[]): void {
    if (this.presence !== null) return this.presence.addPatterns(patterns);
    const config = this.config;
    this.presence = new Presence(
      config.redisUrl
        ? new RedisPresenceStore(config.redisUrl, config.redisPrefix, config.presenceTtlMs, this.log)
        : new MemoryPresenceStore(),
      {
        patterns,
        nodeId: config.nodeId,
        ttlMs: config.presenceTtlMs,
        diffThreshold: config.presenceDiffThreshold,
        diffIntervalMs: config.presenceDiffIntervalMs,
        diffMaxMembers: config.presenceDiffMaxMembers,
        publish: (c, e, d) => this.hub.publishEvent(c, e, d),
        logger: this.log,
      },
    );
    this.hub.setMembershipListener(this.presence);
  }

  /** One page of who is present on `channel`, with the whole count; null when the channel has no presence. */
  page(channel: string, cursor: string | null, limit: number): Promise<PresencePage> | null {
    return this.presence?.tracks(channel) ? this.presence.page(channel, cursor, limit) : null;
  }

  /** How many are present on `channel`, cluster-wide; null when the channel has no presence. */
  count(channel: string): Promise<number> | null {
    return this.presence?.tracks(channel) ? this.presence.count(channel) : null;
  }
}
