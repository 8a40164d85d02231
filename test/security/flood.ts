import { fork, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config/config.js';

/** A gateway in a child process (child-gateway.ts), driven over IPC. */
export class ChildGateway {
  private constructor(
    readonly proc: ChildProcess,
    readonly url: string,
  ) {}

  static async start(overrides: Partial<Config> = {}): Promise<ChildGateway> {
    const proc = fork(fileURLToPath(new URL('./child-gateway.ts', import.meta.url)), [JSON.stringify(overrides)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<{ url: string }>((resolve, reject) => {
      proc.once('message', resolve as (m: unknown) => void);
      proc.once('exit', (code) => reject(new Error(`gateway child exited with ${code} before it was ready`)));
    });
    return new ChildGateway(proc, ready.url);
  }

  get wsUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}/realtime/ws`;
  }

  stats(): Promise<Record<string, any>> {
    return new Promise((resolve) => {
      const on = (m: any) => {
        if (m.type !== 'stats') return;
        this.proc.off('message', on);
        resolve(m.stats);
      };
      this.proc.on('message', on);
      this.proc.send({ type: 'stats' });
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.send({ type: 'stop' });
    await exited;
  }
}

/**
 * One client frame, built once: masked with the all-zero key (legal, and the
 * payload then needs no XOR), so a flooder costs its sender nothing per frame
 * and the measuring process stays quiet.
 */
export function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x81;
  if (len < 126) head[1] = 0x80 | len;
  else if (len < 65536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

/**
 * A raw WebSocket client that writes one pre-built frame `perSecond` times a
 * second (waiting for `drain` when the server stops reading: TCP's own
 * backpressure) and reads everything back without parsing it, keeping count.
 */
const NEEDLE = Buffer.from('"rate_limited"');

export class RawFlooder {
  sentFrames = 0;
  receivedBytes = 0;
  /** Times `rate_limited` was seen in what came back (chunks are searched, not parsed). */
  rateLimitedSeen = 0;
  closed = false;
  private tail: Buffer = Buffer.alloc(0);
  private timer: NodeJS.Timeout | null = null;
  private blocked = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.receivedBytes += chunk.length;
      // Searched as bytes (no decoding: the echoes are megabytes), with the seam between chunks.
      for (let at = chunk.indexOf(NEEDLE); at !== -1; at = chunk.indexOf(NEEDLE, at + 1)) this.rateLimitedSeen++;
      if (Buffer.concat([this.tail, chunk.subarray(0, NEEDLE.length - 1)]).includes(NEEDLE)) this.rateLimitedSeen++;
      this.tail = chunk.subarray(Math.max(0, chunk.length - (NEEDLE.length - 1)));
    });
    socket.on('close', () => {
      this.closed = true;
      this.stop();
    });
    socket.on('error', () => {
      // the server may close us for abuse; `closed` records it
    });
  }

  static open(wsUrl: string): Promise<RawFlooder> {
    const url = new URL(wsUrl);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.write(
          `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      let head = '';
      const onData = (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        socket.off('error', reject);
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
        const flooder = new RawFlooder(socket);
        const rest = Buffer.from(head.slice(end + 4), 'latin1');
        if (rest.length > 0) socket.emit('data', rest);
        resolve(flooder);
      };
      socket.on('data', onData);
    });
  }

  start(frame: Buffer, perSecond: number): void {
    const write = () => {
      if (this.blocked || this.closed) return;
      this.sentFrames++;
      if (!this.socket.write(frame)) {
        this.blocked = true;
        this.socket.once('drain', () => (this.blocked = false));
      }
    };
    this.timer = setInterval(write, 1000 / perSecond);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  destroy(): void {
    this.stop();
    this.socket.destroy();
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
