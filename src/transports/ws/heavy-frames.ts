/**
 * Big frames take turns with everything else. Parsing and answering a frame
 * of a megabyte takes milliseconds; several such frames completing in one
 * read phase would run back to back while every other client waits. So a
 * frame of HEAVY_FRAME_BYTES or more is handled from a queue, one per turn of
 * the event loop, and small frames (pings, joins, chat) are read and answered
 * in between. A connection's later frames queue behind its heavy one, so each
 * client still sees its frames handled in order (the transport also stops
 * reading a connection while it has a frame here, which bounds the queue).
 */
export const HEAVY_FRAME_BYTES = 64 * 1024;

/** The field a connection carries: its frames waiting in the queue. */
export interface HeavyFrameState {
  heavyQueued: number;
}

interface Item<C> {
  conn: C;
  frame: Buffer;
  isBinary: boolean;
}

export class HeavyFrameQueue<C extends HeavyFrameState> {
  private readonly items: Item<C>[] = [];
  private scheduled = false;

  constructor(private readonly handle: (conn: C, frame: Buffer, isBinary: boolean) => void) {}

  /** Whether this frame must wait its turn. */
  static due(conn: HeavyFrameState, frame: Buffer): boolean {
    return conn.heavyQueued > 0 || frame.length >= HEAVY_FRAME_BYTES;
  }

  push(conn: C, frame: Buffer, isBinary: boolean): void {
    conn.heavyQueued++;
    this.items.push({ conn, frame, isBinary });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.next);
    }
  }

  private readonly next = (): void => {
    const item = this.items.shift();
    if (item === undefined) {
      this.scheduled = false;
      return;
    }
    item.conn.heavyQueued--;
    if (this.items.length > 0) setImmediate(this.next);
    else this.scheduled = false;
    // Last: a throw from the handler must not leave the queue stalled.
    this.handle(item.conn, item.frame, item.isBinary);
  };
}
