import type { Duplex } from 'node:stream';

/** What a connection offers a replay (both transports' connections). */
export interface ReplayTarget {
  readonly socket: Duplex;
  /** Its CLIENT_BUFFER_BYTES. */
  readonly bufferBytes: number;
  /** Set while a replay is being written: the connection's `write` then hands chunks to `hold`. */
  replay: ReplayPump | null;
  /** The connection's ordinary write, with its slow-client check. */
  write(chunk: Buffer): void;
  /** Drop it as a slow consumer (the transport's policy and counter). */
  dropSlow(): void;
}

/** A replay that makes no progress this long (the client is not reading) drops the client. */
export const REPLAY_STALL_MS = 30_000;

/**
 * Write a resume's replay — the publications' shared frames, not a copy (see
 * hub/replay.ts) — in pieces under backpressure: a piece up to the socket's
 * high-water mark, then the next on `drain`. A client that does not read
 * therefore holds a few frames in its socket buffer, never the replay;
 * everything written to it meanwhile (live events, replies, heartbeats)
 * waits behind the replay, within CLIENT_BUFFER_BYTES, past which it is a
 * slow consumer like any other; and a replay that stalls for
 * REPLAY_STALL_MS ends the same way, so it cannot keep its frames alive.
 */
export function writeReplay(target: ReplayTarget, frames: readonly Buffer[]): void {
  if (frames.length === 0 || target.socket.destroyed) return;
  if (target.replay !== null) {
    // A second resume while one is written: it goes behind, as any write does.
    for (const frame of frames) target.write(frame);
    return;
  }
  const pump = new ReplayPump(target, frames);
  target.replay = pump;
  pump.run();
}

export class ReplayPump {
  private next = 0;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private readonly stall: NodeJS.Timeout;
  private readonly onDrain = () => this.run();
  /** A closed socket lets go of the replay at once, not at the stall timeout. */
  private readonly onClose = () => this.end();

  constructor(
    private readonly target: ReplayTarget,
    private readonly frames: readonly Buffer[],
  ) {
    this.stall = setTimeout(stalled, REPLAY_STALL_MS, this).unref();
    target.socket.once('close', this.onClose);
  }

  /** A write that arrived during the replay; false when it would take the client past its bound. */
  hold(chunk: Buffer): boolean {
    if (this.heldBytes + chunk.length > this.target.bufferBytes) {
      // The caller drops the client: let go of the replay now.
      this.end();
      this.held = [];
      return false;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    return true;
  }

  run(): void {
    const socket = this.target.socket;
    if (socket.destroyed || !socket.writable) return this.end();
    this.stall.refresh();
    socket.cork();
    let room = true;
    while (room && this.next < this.frames.length) room = socket.write(this.frames[this.next++]);
    socket.uncork();
    if (this.next < this.frames.length) {
      socket.once('drain', this.onDrain);
      return;
    }
    this.end();
    // Done: what waited behind the replay goes out through the ordinary write, in order.
    const held = this.held;
    this.held = [];
    socket.cork();
    for (const chunk of held) this.target.write(chunk);
    socket.uncork();
  }

  /** The client stopped reading for REPLAY_STALL_MS: a slow consumer. */
  stalled(): void {
    this.end();
    this.held = [];
    if (!this.target.socket.destroyed) this.target.dropSlow();
  }

  private end(): void {
    clearTimeout(this.stall);
    this.target.socket.off('drain', this.onDrain);
    this.target.socket.off('close', this.onClose);
    if (this.target.replay === this) this.target.replay = null;
  }
}

function stalled(pump: ReplayPump): void {
  pump.stalled();
}
