import { connect, type Socket } from 'node:net';

/** A raw TCP client of the line protocol: records every frame, lets a test await the next matching one. */
export class TestTcp {
  readonly frames: any[] = [];
  closed = false;
  private buffered = '';
  private waiters: Array<() => void> = [];

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
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
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
    this.socket.write((typeof frame === 'string' ? frame : JSON.stringify(frame)) + '\n');
  }

  /** The first frame at or after index `from` matching `pred`. */
  async next(pred: (f: any) => boolean, timeoutMs = 5000, from = 0): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(pred);
      if (found !== undefined) return found;
      if (this.closed) throw new Error(`closed before a matching frame; got ${JSON.stringify(this.frames).slice(0, 400)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(this.frames).slice(0, 400)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Send a command with a fresh ref and await its reply or error. */
  async command(command: string, data?: unknown): Promise<any> {
    const ref = `r${Math.random().toString(36).slice(2)}`;
    this.send({ type: 'command', command, data, ref });
    return this.next((f) => f.ref === ref);
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the server to close');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
