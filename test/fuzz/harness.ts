import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { EventSource } from 'eventsource';
import { ErrorCode } from '../../src/codes.js';
import type { Config } from '../../src/config/config.js';

/** `npm run fuzz` sets HUBCAST_FUZZ=long: the long run; `npm test` runs the short one. */
export const LONG = process.env.HUBCAST_FUZZ === 'long';
/** One seed per run, printed, so a failure can be replayed with HUBCAST_FUZZ_SEED. */
export const SEED = process.env.HUBCAST_FUZZ_SEED ? Number(process.env.HUBCAST_FUZZ_SEED) : Date.now() % 2 ** 31;
export const cases = (short: number, long: number) =>
  process.env.HUBCAST_FUZZ_CASES ? Number(process.env.HUBCAST_FUZZ_CASES) : LONG ? long : short;
/**
 * Time bound per fuzz file (HUBCAST_FUZZ_SECONDS; 300 s in the long run, 60 s
 * otherwise): a run that reaches it stops generating and reports how many
 * cases it did.
 */
export const SECONDS = Number(process.env.HUBCAST_FUZZ_SECONDS ?? (LONG ? 300 : 60));
export const outOfTime = (started: number) => Date.now() - started > SECONDS * 1000;
/** HUBCAST_FUZZ_DEBUG=1: progress on stderr. */
export const debug = (...args: unknown[]) => {
  if (process.env.HUBCAST_FUZZ_DEBUG) console.error('[fuzz]', ...args);
};

export const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

export interface Memory {
  rss: number;
  heapUsed: number;
  stats: Record<string, unknown>;
  /** Connection slots the gate holds: in all, and distinct addresses (with a per-address limit). */
  slots: { inUse: number; addresses: number };
}

/** A gateway in a child process (see child.ts). */
export class ChildGateway {
  exitCode: number | null = null;
  private waiters = new Map<string, (m: any) => void>();

  private constructor(
    readonly proc: ChildProcess,
    readonly url: string,
  ) {
    proc.on('message', (m: any) => {
      const w = this.waiters.get(m.type);
      if (w) {
        this.waiters.delete(m.type);
        w(m);
      }
    });
    proc.on('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? 128 : 0);
      for (const w of this.waiters.values()) w({ type: 'exit' });
    });
  }

  static async start(overrides: Partial<Config> = {}): Promise<ChildGateway> {
    const proc = fork(fileURLToPath(new URL('./child.ts', import.meta.url)), [JSON.stringify(overrides)], {
      execArgv: ['--import', 'tsx', '--expose-gc', '--max-semi-space-size=1'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<any>((resolve, reject) => {
      proc.once('message', resolve);
      proc.once('exit', (code) => reject(new Error(`gateway child exited with ${code} before it was ready`)));
    });
    return new ChildGateway(proc, ready.url);
  }

  get wsUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}/realtime/ws`;
  }

  get alive(): boolean {
    return this.exitCode === null;
  }

  private ask(type: string): Promise<any> {
    if (!this.alive) throw new Error(`gateway child is gone (exit ${this.exitCode})`);
    return new Promise((resolve) => {
      this.waiters.set(type === 'stop' ? 'stopped' : type, resolve);
      this.proc.send({ type });
    });
  }

  async memory(): Promise<Memory> {
    const m = await this.ask('memory');
    if (m.type === 'exit') throw new Error(`gateway child died (exit ${this.exitCode})`);
    return m;
  }

  /** Memory once every client connection has closed on the server side (closes land asynchronously). */
  async settled(timeoutMs = 5000): Promise<Memory> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.memory();
      if (m.stats.websocket_count === 0 && m.stats.sse_count === 0) return m;
      if (Date.now() > deadline) throw new Error(`connections still open: ${JSON.stringify(m.stats)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Wait until the gate holds no connection slot (releases land as sockets close); returns the last reading. */
  async slotsFree(timeoutMs = 5000): Promise<Memory> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.memory();
      if (m.slots.inUse === 0 && m.slots.addresses === 0) return m;
      if (Date.now() > deadline)
        throw new Error(`connection slots still held: ${JSON.stringify(m.slots)} (connections ${m.stats.connections})`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    if (this.alive) await this.ask('stop');
  }
}

/**
 * Send `bytes` on a fresh connection to 127.0.0.1:`port` and collect the
 * answer until the peer closes, a 101/200 head arrives (a stream stays open),
 * a whole answer with Content-Length is in, or `timeoutMs`. The request is
 * not half-closed (node:http drops a request whose client half-closes before
 * an asynchronous answer) unless `halfClose`. `abort`: reset the connection
 * right after writing (a client that vanishes mid-handshake).
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  options: { abort?: boolean; halfClose?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, options.timeoutMs ?? 1500);
    socket.on('data', (d) => {
      got += d.toString('latin1');
      const headEnd = got.indexOf('\r\n\r\n');
      if (headEnd === -1) return;
      if (/^HTTP\/1\.[01] (101|200) /.test(got)) return done();
      const length = /\r\ncontent-length: *(\d+)/i.exec(got.slice(0, headEnd));
      if (length !== null && Buffer.byteLength(got.slice(headEnd + 4), 'latin1') >= Number(length[1])) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    if (options.abort) socket.write(data, () => socket.resetAndDestroy());
    else if (options.halfClose) socket.end(data);
    else socket.write(data);
  });
}

/** The status of a raw HTTP answer, 'closed' for none, 'garbage' for anything else. */
export function statusOf(answer: string): string {
  return /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? (answer === '' ? 'closed' : 'garbage');
}

/** The JSON error body of a raw answer, or null when it is not `{"error":{"code","message"}}` with a known code. */
export function errorOf(answer: string): { code: string; message: string } | null {
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  try {
    const parsed = JSON.parse(body);
    const e = parsed?.error;
    if (
      Object.keys(parsed).length === 1 &&
      typeof e?.code === 'string' &&
      typeof e?.message === 'string' &&
      KNOWN_CODES.has(e.code) &&
      Object.keys(e).length === 2
    )
      return e;
  } catch {
    // not JSON: the caller reports the raw answer
  }
  return null;
}

/** One thing a WS client received, in arrival order (text parsed as JSON). */
export type Received = { kind: 'text'; value: any } | { kind: 'binary'; value: Buffer };

/** A bare `ws` client that keeps text and binary frames in one ordered log. */
export class FuzzWs {
  readonly log: Received[] = [];
  closeCode: number | null = null;
  private wake: (() => void) | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      this.log.push(
        isBinary ? { kind: 'binary', value: data as Buffer } : { kind: 'text', value: JSON.parse(String(data)) },
      );
      this.wake?.();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake?.();
    });
  }

  static open(url: string): Promise<FuzzWs> {
    const ws = new WebSocket(url);
    const client = new FuzzWs(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** Wait until a text frame with `ref` arrives after index `from`; returns its index. */
  async waitRef(ref: string, from: number, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let i = from;
    for (;;) {
      for (; i < this.log.length; i++) {
        const r = this.log[i];
        if (r.kind === 'text' && r.value.ref === ref) return i;
      }
      if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode}) while waiting for ${ref}`);
      if (Date.now() > deadline) throw new Error(`no frame with ref ${ref} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.wake = () => {
          clearTimeout(t);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * A client that is not under attack: a WS and an SSE subscriber on channel
 * `bystander`, fed numbered events through the server API while the fuzz runs.
 * `verify` checks both got every event, in order, none twice.
 */
export class Bystander {
  private sent = 0;
  private wsSeen: number[] = [];
  private sseSeen: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly url: string,
    private readonly ws: WebSocket,
    private readonly es: EventSource,
    private readonly headers: Record<string, string>,
  ) {
    ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      if (f.type === 'event' && f.channel === 'bystander') this.wsSeen.push(f.data.n);
    });
    es.addEventListener('tick', (e) => this.sseSeen.push(JSON.parse((e as MessageEvent).data).n));
  }

  /** `headers`: extra headers for its publishes (the API key); `token`: its connections' token when auth is on. */
  static async start(url: string, headers: Record<string, string> = {}, token?: string): Promise<Bystander> {
    const auth = token === undefined ? '' : `token=${encodeURIComponent(token)}`;
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/realtime/ws${auth ? `?${auth}` : ''}`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const joined = new Promise<void>((resolve) => {
      ws.on('message', function onJoin(data) {
        if (JSON.parse(String(data)).ref === 'bystander-join') {
          ws.off('message', onJoin);
          resolve();
        }
      });
    });
    ws.send(
      JSON.stringify({
        type: 'command',
        command: 'join_channel',
        data: { channel: 'bystander' },
        ref: 'bystander-join',
      }),
    );
    await joined;
    const es = new EventSource(`${url}/realtime/events?channels=bystander${auth ? `&${auth}` : ''}`);
    await new Promise<void>((resolve, reject) => {
      es.onopen = () => resolve();
      es.onerror = (e) => reject(new Error(`bystander SSE failed: ${e.message ?? e.code}`));
    });
    es.onerror = null;
    const b = new Bystander(url, ws, es, headers);
    // Every 20 ms while the fuzz runs: deliveries to others must go on regardless.
    b.timer = setInterval(() => b.tick(), 20);
    return b;
  }

  private tick(): void {
    const n = ++this.sent;
    // One publish at a time: the order sent is the order every client must see.
    this.inFlight = this.inFlight.then(() =>
      fetch(`${this.url}/realtime/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.headers },
        body: JSON.stringify({ channel: 'bystander', event: 'tick', data: { n } }),
      }).then((r) => {
        if (r.status !== 200) throw new Error(`bystander publish ${n} answered ${r.status}`);
        return r.arrayBuffer();
      }),
    );
  }

  /** Stop publishing, wait for the last event, and check both clients' logs. */
  async verify(timeoutMs = 10_000): Promise<{ sent: number }> {
    if (this.timer) clearInterval(this.timer);
    await this.inFlight;
    const deadline = Date.now() + timeoutMs;
    while (this.wsSeen.length < this.sent || this.sseSeen.length < this.sent) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const expected = Array.from({ length: this.sent }, (_, i) => i + 1);
    const problems: string[] = [];
    if (JSON.stringify(this.wsSeen) !== JSON.stringify(expected))
      problems.push(`ws saw ${this.wsSeen.length}/${this.sent}, in order: ${isSorted(this.wsSeen)}`);
    if (JSON.stringify(this.sseSeen) !== JSON.stringify(expected))
      problems.push(`sse saw ${this.sseSeen.length}/${this.sent}, in order: ${isSorted(this.sseSeen)}`);
    if (problems.length > 0) throw new Error(`bystander deliveries disturbed: ${problems.join('; ')}`);
    return { sent: this.sent };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.ws.close();
    this.es.close();
  }
}

function isSorted(a: number[]): boolean {
  for (let i = 1; i < a.length; i++) if (a[i] !== a[i - 1] + 1) return false;
  return true;
}

/**
 * RSS after the run against RSS after the warm-up (both after full GCs), in the
 * server process alone. A run that leaks grows with its case count; allocator
 * noise does not.
 */
export function rssReport(name: string, base: Memory, end: Memory, count: number, ms: number): string {
  const mb = (n: number) => (n / 1048576).toFixed(1);
  return `[fuzz ${name}] seed=${SEED} cases=${count} in ${ms} ms; server rss ${mb(base.rss)} → ${mb(end.rss)} MiB (${(((end.rss - base.rss) / base.rss) * 100).toFixed(1)} %), heap ${mb(base.heapUsed)} → ${mb(end.heapUsed)} MiB`;
}
