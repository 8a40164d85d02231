import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WheelEntry } from './wheel.js';
import type { PollTransport } from './transport.js';

export const kWaiter = Symbol('hubcast.pollWaiter');
export type TaggedResponse = ServerResponse & { [kWaiter]?: Waiter };

/**
 * One poll request. Held ones are listed under each channel they read (and
 * `*`), released by the publications the hub reports on those channels, and
 * expired by the transport's one timer wheel.
 *
 * `since` advances while it waits: after a read that found nothing up to the
 * hub's position, every later publication on its channels reaches the
 * transport's tap, so a release answers from what the tap collected without
 * reading history again.
 */
export class Waiter implements WheelEntry {
  wheelTick = -1;
  /** A read from durable history is under way (cluster); a release meanwhile reads again after it. */
  reading = false;
  again = false;
  /** Its timeout passed while a read was under way: answer whatever the read finds. */
  expired = false;
  done = false;
  /** Listed under its channels and in the wheel. */
  held = false;
  constructor(
    readonly owner: PollTransport,
    readonly req: IncomingMessage,
    readonly res: TaggedResponse,
    /** Channels read, the user's own included; broadcasts (`*`) come on top. */
    readonly names: string[],
    /** The names, for sharing one answer between waiters that would get the same. */
    readonly key: string,
    public since: number,
    readonly timeoutMs: number,
    readonly headers: Readonly<Record<string, string>>,
    /** The same headers rendered (`Name: value\r\n` each), for the whole-answer path. */
    readonly headLines: string,
  ) {}
}

/** The client went away before its answer (`close` of a held poll's response). */
export function onResponseClose(this: TaggedResponse): void {
  const w = this[kWaiter];
  if (w !== undefined) w.owner.gone(w);
}
