import { AckState } from './acker.js';
import { unrefTimer } from './load.js';

/** Acks handled within this window go out as one frame per channel. */
const ACK_BATCH_MS = 20;

/**
 * The WS client's acknowledged channels (`joinChannel(…, { ack: true })` and
 * the user inbox) and the acks they send. Acks are batched — one frame per
 * channel per ACK_BATCH_MS however many events were handled, so a busy
 * channel does not run into the server's frame rate limit — and go out only
 * on a live connection: one due while reconnecting is sent when its
 * redelivery arrives.
 */
export class WsAcks {
  private readonly states = new Map<string, AckState>();
  /** Newest id to acknowledge per channel (acks are cumulative). */
  private readonly due = new Map<string, string>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    /** The connection is up and past its welcome. */
    private readonly live: () => boolean,
    private readonly write: (frame: string) => void,
    /** Acknowledge events on the user's own `user:<id>` (the inbox). */
    private readonly ackInbox: boolean,
  ) {}

  /** Acknowledge `channel`'s events from now on. */
  add(channel: string): void {
    if (!this.states.has(channel)) this.states.set(channel, new AckState(channel, this.send));
  }

  delete(channel: string): void {
    this.states.delete(channel);
  }

  /** The state of an acknowledged channel, the inbox's made on first use; `null` for a plain channel. */
  stateFor(channel: string, userId: string | null): AckState | null {
    const state = this.states.get(channel);
    if (state !== undefined) return state;
    if (!this.ackInbox || userId === null || channel !== `user:${userId}`) return null;
    const inbox = new AckState(channel, this.send);
    this.states.set(channel, inbox);
    return inbox;
  }

  /** The client stopped: nothing due goes out. */
  reset(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.due.clear();
  }

  private readonly send = (channel: string, id: string): boolean => {
    if (!this.live()) return false;
    const due = this.due.get(channel);
    if (due === undefined || Number(id) > Number(due)) this.due.set(channel, id);
    if (this.timer === null) this.timer = unrefTimer(this.flush, ACK_BATCH_MS);
    return true;
  };

  private readonly flush = (): void => {
    this.timer = null;
    if (!this.live()) return this.due.clear();
    for (const id of this.due.values()) this.write(JSON.stringify({ type: 'command', command: 'ack', data: { id } }));
    this.due.clear();
  };
}
