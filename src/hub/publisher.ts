import type { PublishOnce } from '../bus/bus.js';

export interface PublishOptions {
  /**
   * Publish only if this version is above the last one published on the
   * channel under this key (see `PublishOnce`): for domain events that may be
   * announced again after a crash or a redelivery.
   */
  once?: PublishOnce;
}

/**
 * What domain code (catalog, uploads) needs from the realtime hub: publish one
 * event to one channel. `data` is any JSON value; the hub serializes it once.
 * Resolves the event id, or `null` when `options.once` skipped it.
 */
export interface Publisher {
  publish(channel: string, event: string, data: unknown, options?: PublishOptions): Promise<string | null>;
}
