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

/**
 * Channel-name prefixes claimed by applications. Consulted once per client
 * publish (never per delivery): with no application registered the lookup is
 * an empty loop, so plain channels pay nothing.
 */
export class AppChannels {
  readonly #owners: Array<{ prefix: string; handler: ChannelHandler }> = [];

  /** Claim every channel starting with `prefix`; a prefix can be claimed once. */
  register(prefix: string, handler: ChannelHandler): void {
    if (prefix.length === 0) throw new Error('an application channel prefix must not be empty');
    for (const o of this.#owners) {
      if (prefix.startsWith(o.prefix) || o.prefix.startsWith(prefix)) throw new Error(`channel prefix ${prefix} overlaps ${o.prefix}, claimed already`);
    }
    this.#owners.push({ prefix, handler });
  }

  /** The application owning `channel`, or null for a plain channel. */
  ownerOf(channel: string): ChannelHandler | null {
    for (const o of this.#owners) if (channel.startsWith(o.prefix)) return o.handler;
    return null;
  }
}
