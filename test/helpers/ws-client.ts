import WebSocket from 'ws';
import { Waiters } from './waiters.js';

/** A `ws` client that records every frame and lets a test await the next matching one. */
export class TestWs {
  readonly ws: WebSocket;
  readonly frames: any[] = [];
  readonly binaries: Buffer[] = [];
  closeCode: number | null = null;
  closeReason = '';
  private readonly waiters = new Waiters();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.binaries.push(data as Buffer);
      else this.frames.push(JSON.parse(String(data)));
      this.waiters.wake();
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = String(reason);
      this.waiters.wake();
    });
  }

  static open(url: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}): Promise<TestWs> {
    const ws = new WebSocket(url, options.protocols ?? [], options);
    const client = new TestWs(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })),
      );
      ws.once('error', reject);
    });
  }

  send(obj: unknown): void {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  /** Wait for the first recorded frame (from `from` on) matching `pred`; returns it. */
  async next(pred: (f: any) => boolean, timeoutMs = 5000, from = 0): Promise<any> {
    return this.waiters.until(
      () => {
        for (let i = from; i < this.frames.length; i++) if (pred(this.frames[i])) return this.frames[i];
        if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode}) before a matching frame`);
        return undefined;
      },
      timeoutMs,
      () => `no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`,
    );
  }

  /** Send a command with a ref and await its reply or error. */
  async command(command: string, data?: unknown): Promise<any> {
    const ref = `r${Math.random().toString(36).slice(2)}`;
    this.send({ type: 'command', command, data, ref });
    return this.next((f) => f.ref === ref);
  }

  events(channel?: string): any[] {
    return this.frames.filter(
      (f) => f.type === 'event' && f.event !== 'system' && (channel === undefined || f.channel === channel),
    );
  }

  async waitClosed(timeoutMs = 5000): Promise<number> {
    return this.waiters.until(
      () => this.closeCode ?? undefined,
      timeoutMs,
      () => 'socket did not close',
      50,
    );
  }

  close(): void {
    this.ws.close();
  }
}
