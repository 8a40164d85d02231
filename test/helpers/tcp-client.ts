import { connect, type Socket } from 'node:net';
import { Waiters } from './waiters.js';

/** A raw TCP client of the line protocol: records every frame, lets a test await the next matching one. */
export class TestTcp {
  readonly frames: any[] = [];
  closed = false;
  private buffered = '';
  private readonly waiters = new Waiters();

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffered += text;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) !== -1) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        this.frames.push(JSON.parse(line));
      }
      this.waiters.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiters.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<TestTcp> {
    const socket = connect(port, '127.0.0.1');
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(new TestTcp(socket)));
      socket.once('error', reject);
    });
  }

  /** Write one frame (an object as JSON) or raw text, newline-terminated. */
  send(frame: object | string): void {
    this.socket.write(`${typeof frame === 'string' ? frame : JSON.stringify(frame)}\n`);
  }

  /** The first frame at or after index `from` matching `pred`. */
  async next(pred: (f: any) => boolean, timeoutMs = 5000, from = 0): Promise<any> {
    return this.waiters.until(
      () => {
        const found = this.frames.slice(from).find(pred);
        if (found === undefined && this.closed)
          throw new Error(`closed before a matching frame; got ${JSON.stringify(this.frames).slice(0, 400)}`);
        return found;
      },
      timeoutMs,
      () => `timed out; got ${JSON.stringify(this.frames).slice(0, 400)}`,
    );
  }

  /** Send a command with a fresh ref and await its reply or error. */
  async command(command: string, data?: unknown): Promise<any> {
    const ref = `r${Math.random().toString(36).slice(2)}`;
    this.send({ type: 'command', command, data, ref });
    return this.next((f) => f.ref === ref);
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    await this.waiters.until(
      () => (this.closed ? true : undefined),
      timeoutMs,
      () => 'timed out waiting for the server to close',
      50,
    );
  }

  close(): void {
    this.socket.destroy();
  }
}
