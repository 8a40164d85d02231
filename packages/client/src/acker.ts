/**
 * At-least-once on the client side of an `ack: true` subscription (and the
 * user inbox on `user:<id>`): an event is acknowledged once the
 * application's handlers returned (or their promises resolved), acks go out
 * in event order (an ack is cumulative on the server, so a later event's
 * quick handler must not acknowledge an earlier one still running), and a
 * redelivery of an event already handed to the application is not handed to
 * it again — only acknowledged again, in case the first ack was lost with
 * its connection. A handler that throws or rejects leaves its event
 * unacknowledged: the server's redelivery runs the handlers again.
 */
interface Pending {
  id: number;
  state: 'running' | 'done' | 'failed';
}

export class AckState {
  /** Highest id acknowledged (sent, or due when the connection is back). */
  acked = 0;
  /** Highest id handed to the application. */
  seen = 0;
  private readonly queue: Pending[] = [];

  private sendAck(id: string): void {
    this.send(this.channel, id);
  }

  constructor(
    readonly channel: string,
    /** Sends `{"command":"ack"}` for `id`; false when there is no live connection (the redelivery is acked instead). */
    private readonly send: (channel: string, id: string) => boolean,
  ) {}

  /**
   * An event of this channel arrived. Returns true when the application
   * should get it (then call `handled` with what its handlers returned).
   */
  arrived(id: number): boolean {
    if (id > this.seen) {
      this.seen = id;
      this.queue.push({ id, state: 'running' });
      return true;
    }
    if (id <= this.acked) {
      // Handled and acknowledged: the ack was lost with a connection.
      this.sendAck(String(id));
      return false;
    }
    const p = this.queue.find((q) => q.id === id);
    if (p !== undefined && p.state === 'failed') {
      p.state = 'running';
      return true;
    }
    // Still running (its ack follows), or done and waiting behind an earlier one.
    return false;
  }

  /** The handlers of `id` returned these: acknowledge when every promise among them resolved. */
  handled(id: number, results: unknown[]): void {
    const promises = results.filter(isThenable);
    if (promises.length === 0) return this.settle(id, true);
    Promise.all(promises).then(
      () => this.settle(id, true),
      () => this.settle(id, false),
    );
  }

  /** A handler threw. */
  failed(id: number): void {
    this.settle(id, false);
  }

  private settle(id: number, ok: boolean): void {
    const p = this.queue.find((q) => q.id === id);
    if (p === undefined) return;
    p.state = ok ? 'done' : 'failed';
    let top = 0;
    while (this.queue.length > 0 && this.queue[0].state === 'done') top = this.queue.shift()!.id;
    if (top > this.acked) {
      this.acked = top;
      this.sendAck(String(top));
    }
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}
