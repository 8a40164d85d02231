/**
 * Channel-name grammar: 1–128 characters of letters, digits and `_ - : . @ / =`.
 * `*` and `?` are pattern characters (permissions), never part of a name.
 */
const NAME = /^[A-Za-z0-9_\-:.@/=]{1,128}$/;

/** The pseudo-channel every connection receives: `POST /realtime/broadcast`. */
export const BROADCAST_CHANNEL = '*';

export function isValidChannelName(name: unknown): name is string {
  return typeof name === 'string' && NAME.test(name);
}

/** `user:<id>` channels are private to that user. */
export function userChannel(userId: string): string {
  return `user:${userId}`;
}

export function privateOwner(channel: string): string | null {
  return channel.startsWith('user:') ? channel.slice(5) : null;
}
