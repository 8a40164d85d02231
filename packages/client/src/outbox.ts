import { ClientError, ClientErrorCode } from './errors.js';
import { unrefTimer } from './load.js';
import type { ErrorFrame, ReplyFrame, WebSocketLike } from './types.js';

interface Pending {
  resolve(data: unknown): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
  /** Written to a socket (as opposed to waiting in the queue). */
  sent: boolean;
}

interface Queued {
  payload: string | Uint8Array;
  ref?: string;
}

export interface OutboxLimits {
  commandTimeout: number;
  maxQueuedMessages: number;
}

/**
 * Everything the WS client sends: straight to the socket while live, into a
 * bounded queue while (re)connecting, refused while closed. Commands get a
 * `ref` and wait here for their reply or error frame.
 */
export class Outbox {
  private readonly pending = new Map<string, Pending>();
  private queue: Queued[] = [];
  private nextRef = 1;
  private socket: WebSocketLike | null = null;
  private closed = true;

  constructor(private readonly limits: OutboxLimits) {}

  get live(): boolean {
    return this.socket !== null;
  }

  /** (Re)connecting: sends queue up. */
  hold(): void {
    this.closed = false;
  }

  /** The socket is usable; queued sends wait for `flush()`. */
  open(socket: WebSocketLike): void {
    this.socket = socket;
    this.closed = false;
  }

  flush(): void {
    const queue = this.queue;
    this.queue = [];
    for (const q of queue) {
      if (q.ref !== undefined) {
        const p = this.pending.get(q.ref);
        if (p === undefined) continue; // timed out while queued
        p.sent = true;
      }
      this.socket!.send(q.payload);
    }
  }

  /** The socket dropped: commands already sent will never get their reply. Queued ones stay. */
  suspend(code: number): void {
    this.socket = null;
    for (const [ref, p] of this.pending) {
      if (!p.sent) continue;
      this.pending.delete(ref);
      clearTimeout(p.timer);
      p.reject(new ClientError(ClientErrorCode.connectionLost, `connection lost (${code}) before the reply`, ref));
    }
  }

  /** Closed for good: everything waiting fails with `error`'s code. */
  close(error: Error): void {
    this.socket = null;
    this.closed = true;
    const code = (error as Partial<ClientError>).code ?? ClientErrorCode.closed;
    for (const [ref, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ClientError(code, error.message, ref));
    }
    this.pending.clear();
    this.queue = [];
  }

  write(payload: string | Uint8Array, ref?: string): void {
    if (this.socket !== null) {
      this.socket.send(payload);
      return;
    }
    if (this.closed)
      throw new ClientError(ClientErrorCode.notConnected, 'client is disconnected; call connect() first');
    if (this.queue.length >= this.limits.maxQueuedMessages) {
      throw new ClientError(
        ClientErrorCode.queueFull,
        `send queue full (${this.limits.maxQueuedMessages} messages) while reconnecting`,
      );
    }
    this.queue.push(ref === undefined ? { payload } : { payload, ref });
  }

  /** Send `frame` with a fresh `ref`; resolves with the reply's `data`. */
  request(frame: Record<string, unknown>): Promise<unknown> {
    const ref = `c${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = unrefTimer(() => {
        this.pending.delete(ref);
        this.queue = this.queue.filter((q) => q.ref !== ref);
        reject(
          new ClientError(
            ClientErrorCode.timeout,
            `no reply to ${String(frame.command ?? frame.type)} within ${this.limits.commandTimeout} ms`,
            ref,
          ),
        );
      }, this.limits.commandTimeout);
      this.pending.set(ref, { resolve, reject, timer, sent: this.live });
      try {
        this.write(JSON.stringify({ ...frame, ref }), ref);
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(ref);
        reject(err);
      }
    });
  }

  /** A reply or error frame: settles its command and returns true, or false when no command waits for it. */
  settle(frame: ReplyFrame | ErrorFrame): boolean {
    if (frame.ref === undefined) return false;
    const ref = String(frame.ref);
    const p = this.pending.get(ref);
    if (p === undefined) return false;
    this.pending.delete(ref);
    clearTimeout(p.timer);
    if (frame.type === 'reply') p.resolve(frame.data);
    else p.reject(new ClientError(frame.code, frame.message, frame.ref));
    return true;
  }
}
