import type { AckState } from './acker.js';
import { BinaryMessage } from './binary-message.js';
import type { Emitter } from './emitter.js';
import type { ClientError } from './errors.js';
import type { ErrorFrame, EventFrame, MessageMap, ReplyFrame, ServerFrame } from './types.js';
import type { WsConnection } from './ws-connection.js';

/**
 * What the WS client receives: text frames parsed as JSON and binary ones
 * decoded, then routed. The `connected` frame welcomes the connection, a
 * reply or error settles its command, a `recovery_failed` notice is told
 * apart from the events, and a channel event reaches the listeners once:
 * replays at or below the channel's position are dropped, and an event of an
 * acknowledged channel is acknowledged after its handlers.
 *
 * @internal
 */
export class WsReceiver {
  /** From the current connection's `connected` frame. */
  clientId: string | null = null;
  userId: string | null = null;
  peerId: string | null = null;

  constructor(
    private readonly conn: WsConnection,
    private readonly emitter: Emitter<Record<string, unknown>>,
  ) {}

  receive(data: unknown): void {
    if (typeof data === 'string') {
      let frame: ServerFrame;
      try {
        frame = JSON.parse(data);
      } catch (err) {
        this.emitter.emit('error', {
          type: 'error',
          code: 'invalid_json',
          message: `server sent a frame that is not JSON: ${(err as Error).message}`,
        });
        return;
      }
      this.handleFrame(frame);
      return;
    }
    if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
      this.handleBinary(data as ArrayBuffer | ArrayBufferView);
      return;
    }
    const blob = data as { arrayBuffer?: () => Promise<ArrayBuffer> };
    if (typeof blob?.arrayBuffer === 'function') {
      // Only when an implementation ignored binaryType = 'arraybuffer'.
      void blob.arrayBuffer().then((buf) => this.handleBinary(buf));
    }
  }

  private handleBinary(data: ArrayBuffer | ArrayBufferView): void {
    let message: BinaryMessage;
    try {
      message = BinaryMessage.decode(data);
    } catch (err) {
      const e = err as ClientError;
      this.emitter.emit('error', { type: 'error', code: e.code, message: e.message });
      return;
    }
    this.emitter.emit('binary', message);
    this.emitter.emit('*', message);
  }

  private handleFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'connected':
        this.clientId = (frame.client_id as string) ?? null;
        this.userId = (frame.user_id as string | null) ?? null;
        this.peerId = (frame.peer_id as string | undefined) ?? null;
        this.emitter.emit('connected', frame);
        this.emitter.emit('*', frame);
        this.conn.welcome();
        return;
      case 'event': {
        const channel = frame.channel as string;
        const data = frame.data as { type?: unknown; reason?: unknown } | null;
        if (
          frame.event === 'system' &&
          frame.id === null &&
          data !== null &&
          typeof data === 'object' &&
          data.type === 'recovery_failed'
        ) {
          const notice: MessageMap['recovery_failed'] = { type: 'recovery_failed', channel };
          if (typeof data.reason === 'string') notice.reason = data.reason;
          this.emitter.emit('recovery_failed', notice);
          this.emitter.emit('*', frame);
          return;
        }
        const acking = typeof frame.id === 'string' ? this.conn.acks.stateFor(channel, this.userId) : null;
        if (acking !== null) return this.acknowledged(acking, frame as EventFrame);
        if (!this.conn.subs.accept(channel, frame.id as string | null)) return; // replayed twice
        break;
      }
      case 'reply':
      case 'error': {
        if (this.conn.outbox.settle(frame as ReplyFrame | ErrorFrame)) return;
        break;
      }
    }
    this.emitter.emit(frame.type, frame);
    this.emitter.emit('*', frame);
  }

  /** An event of an acknowledged channel: to the handlers once, acknowledged after them. */
  private acknowledged(state: AckState, frame: EventFrame): void {
    const id = Number(frame.id);
    if (!state.arrived(id)) return;
    this.conn.subs.accept(state.channel, frame.id as string);
    const { results, threw } = this.emitter.emitCollect('event', frame);
    this.emitter.emit('*', frame);
    if (threw) state.failed(id);
    else state.handled(id, results);
  }
}
