import type { Identity } from '../auth/permissions.js';

/** Who sent a client publish: enough for an application to authorize and attribute it. */
export interface ChannelSender {
  readonly identity: Identity;
  readonly clientId: string;
}

/**
 * An application's own channels (`chat:*`): a client's `channel_message` there
 * goes to the application, which validates, stores and publishes it itself and
 * answers the reply's `data` — or rejects with a HubcastError whose code the
 * client gets. The core stays ignorant of what the application does.
 */
export interface ChannelHandler {
  publish(sender: ChannelSender, channel: string, message: unknown): Promise<unknown>;
}

/** What the permission checks need to know about channels: which ones only the server publishes to. */
export interface ChannelOwnership {
  isServerOwned(channel: string): boolean;
}

/** A claimed pattern: a channel name, or a prefix when it ended in `*`. */
interface Claim {
  app: string;
  prefix: string;
  exact: boolean;
  owner: 'server' | ChannelHandler;
}

/**
 * The channels applications own (src/application.ts, `channels`), and what a
 * stream naming none joins. The core owns only `user:*` (private to a user)
 * and `$*` (the gateway's own). Consulted once per join or client publish
 * (never per delivery): with nothing claimed the lookups are empty loops.
 */
export class AppChannels implements ChannelOwnership {
  private readonly claims: Claim[] = [];
  /** Filled by applications' `defaultChannels` as they register; the transports read it per request. */
  readonly defaults: string[] = [];

  /**
   * Claim `pattern` (`products`, or `product:*` for every channel starting with `product:`) for `app`.
   * @throws Error when the pattern is malformed or overlaps one claimed already
   */
  claim(app: string, pattern: string, owner: 'server' | ChannelHandler): void {
    const exact = !pattern.endsWith('*');
    const prefix = exact ? pattern : pattern.slice(0, -1);
    if (prefix.length === 0 || !/^[A-Za-z0-9_\-:.@/=]{1,128}$/.test(prefix)) {
      throw new Error(
        `${app}: channel pattern ${JSON.stringify(pattern)} must be a channel name, optionally ending in * (a prefix)`,
      );
    }
    if (prefix.startsWith('user:') || prefix.startsWith('$') || (!exact && 'user:'.startsWith(prefix))) {
      throw new Error(`${app}: channel pattern ${pattern} overlaps the gateway's own user:* or $* channels`);
    }
    for (const c of this.claims) {
      const overlaps =
        exact && c.exact
          ? prefix === c.prefix
          : exact
            ? prefix.startsWith(c.prefix)
            : c.exact
              ? c.prefix.startsWith(prefix)
              : prefix.startsWith(c.prefix) || c.prefix.startsWith(prefix);
      if (overlaps)
        throw new Error(
          `${app}: channel pattern ${pattern} overlaps ${c.prefix}${c.exact ? '' : '*'}, claimed by ${c.app}`,
        );
    }
    this.claims.push({ app, prefix, exact, owner });
  }

  /** The application handling client publishes on `channel`, or null (a plain or server-owned channel). */
  ownerOf(channel: string): ChannelHandler | null {
    const c = this.find(channel);
    return c === null || c.owner === 'server' ? null : c.owner;
  }

  /** Clients may join (no token grant needed) but never publish. */
  isServerOwned(channel: string): boolean {
    if (channel.startsWith('user:') || channel.startsWith('$')) return true;
    return this.find(channel)?.owner === 'server';
  }

  private find(channel: string): Claim | null {
    for (const c of this.claims) if (c.exact ? channel === c.prefix : channel.startsWith(c.prefix)) return c;
    return null;
  }
}
