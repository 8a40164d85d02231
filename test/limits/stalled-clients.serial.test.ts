import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { waitFor } from '../helpers/gateway.js';

// Issue 6, slow consumers: 100 stalled clients (raw sockets that sent the WS
// upgrade or the SSE GET and never read again; half WS, half SSE) next to 100
// live ones (half WS, half SSE), while the gateway, in its own process,
// publishes ~200-byte events at a steady rate for 10 s.
//
// - The server's RSS stays under baseline + 100 × CLIENT_BUFFER_BYTES + slack.
// - Stalled WS clients are closed with 1013 (read from the close frame once
//   they read again); stalled SSE streams are ended.
// - Live clients get every event once, in order, and their p99 delivery
//   latency is within 20 % + 5 ms of the same run without the stalled clients.
//
// Loopback's kernel buffers take about 4 MB per stalled socket before
// anything queues in the server (measured: a paused reader absorbs ~4.0 MB
// here); until then a stalled client costs what a fast one does. So before the
// measured run the stalled clients, which also join `fill`, are sent 16 KiB
// events there until the server has bytes queued for every one of them: in
// the measured run they are truly stalled, each `tick` (~260 bytes on the
// wire, 200/s) adds to their user-space queue, and they reach the 256 KiB
// bound about 5 s into the 10 s run.

const BUFFER = 256 * 1024;
const STALLED = 100;
const LIVE = 100;
const RUN_MS = Number(process.env.HUBCAST_STALLED_RUN_MS ?? 10_000);
const RATE = 200; // `ticks` per second: 100 live clients → 20,000 deliveries/s
/**
 * Slack over baseline + 100 × CLIENT_BUFFER_BYTES: buffers and strings that
 * are garbage but not collected yet (nothing forces a GC during the run; the
 * stream allocates frames every turn), 100 more connection objects with their
 * sockets and parsers, and allocator fragmentation. Without the slow-client
 * bound the stalled clients would hold the whole run (~520 KB each) and keep
 * growing at 52 KB/s each for as long as they stay.
 */
const RSS_SLACK = 24 * 1024 * 1024;
/**
 * p99 slack over +20 %: the machine running this has few CPUs shared by the
 * server, 200 clients and the test runner; one scheduler time slice (a few
 * ms under CFS) or one major GC in either process moves the p99 of a ~1 ms
 * latency by that much. 5 ms absorbs one such preemption and stays far below
 * what a slow client that held others up would cost (a blocked write, a full
 * buffer: tens to hundreds of ms).
 */
const P99_SLACK_MS = 5;

const now = () => performance.timeOrigin + performance.now();
const MiB = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

class Child {
  private waiters = new Map<string, (m: any) => void>();
  exited = false;
  private constructor(
    readonly proc: ChildProcess,
    readonly url: string,
  ) {
    proc.on('message', (m: any) => {
      const w = this.waiters.get(m.type);
      this.waiters.delete(m.type);
      w?.(m);
    });
    proc.on('exit', () => {
      this.exited = true;
      for (const w of this.waiters.values()) w({ type: 'exit' });
    });
  }
  static async start(overrides: object): Promise<Child> {
    const proc = fork(fileURLToPath(new URL('./stalled-child.ts', import.meta.url)), [JSON.stringify(overrides)], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<any>((resolve, reject) => {
      proc.once('message', resolve);
      proc.once('exit', (code) => reject(new Error(`gateway child exited with ${code} before it was ready`)));
    });
    return new Child(proc, ready.url);
  }
  ask(message: { type: string; [k: string]: unknown }, reply: string): Promise<any> {
    assert.ok(!this.exited, 'the gateway process died');
    return new Promise((resolve) => {
      this.waiters.set(reply, (m) => {
        assert.notEqual(m.type, 'exit', 'the gateway process died');
        resolve(m);
      });
      this.proc.send(message);
    });
  }
}

/** What a live client saw of the `ticks` stream. */
class Tally {
  seqs: number[] = [];
  latencies: number[] = [];
  at?: number[];
  add(data: { seq: number; t: number }): void {
    const at = now();
    this.latencies.push(at - data.t);
    if (process.env.HUBCAST_STALLED_DEBUG) (this.at ??= []).push(at);
    this.seqs.push(data.seq);
  }
  reset(): void {
    this.seqs = [];
    this.latencies = [];
    this.at = undefined;
  }
}

interface Live {
  tally: Tally;
  close(): void;
}

async function liveWs(base: string): Promise<Live> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/realtime/ws`);
  const tally = new Tally();
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const joined = new Promise<void>((resolve) => {
    ws.on('message', (raw) => {
      const f = JSON.parse(String(raw));
      if (f.type === 'event' && f.channel === 'ticks') tally.add(f.data);
      else if (f.type === 'reply' && f.ref === 'j') resolve();
    });
  });
  ws.send(JSON.stringify({ type: 'command', command: 'join_channel', data: { channel: 'ticks' }, ref: 'j' }));
  await joined;
  return { tally, close: () => ws.terminate() };
}

/** A live SSE client parsing the stream by hand (cheap: 50 of them share this process with the measurement). */
async function liveSse(base: string): Promise<Live> {
  const tally = new Tally();
  const req = request(`${base}/realtime/events?channels=ticks`);
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
  assert.equal(res.statusCode, 200);
  res.setEncoding('utf8');
  let buf = '';
  let welcomed: () => void;
  const welcome = new Promise<void>((r) => (welcomed = r));
  res.on('data', (chunk: string) => {
    buf += chunk;
    let end: number;
    while ((end = buf.indexOf('\n\n')) !== -1) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      if (block.includes('event: system')) welcomed();
      if (!block.includes('event: tick')) continue;
      const line = block.split('\n').find((l) => l.startsWith('data: '));
      if (line) tally.add(JSON.parse(line.slice(6)));
    }
  });
  res.on('error', () => {}); // torn down by close() at the end: nothing to report
  await welcome;
  return { tally, close: () => req.destroy() };
}

function maskedText(text: string): Buffer {
  const payload = Buffer.from(text);
  assert.ok(payload.length < 126);
  const mask = randomBytes(4);
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i] ^ mask[i % 4];
  return out;
}

interface Stalled {
  kind: 'ws' | 'sse';
  socket: Socket;
  /** Resolves when the socket has ended, with what it read (after resume). */
  done: Promise<Buffer>;
}

/** A raw socket that sends the upgrade (and its joins) or the SSE GET, then never reads. */
async function stalled(base: string, kind: 'ws' | 'sse'): Promise<Stalled> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.pause();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve) => {
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', () => {}); // a reset after the close frame or the stream end changes nothing here
  });
  socket.pause(); // listeners above must not start the flow
  if (kind === 'ws') {
    socket.write(
      `GET /realtime/ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    for (const channel of ['ticks', 'fill'])
      socket.write(maskedText(JSON.stringify({ type: 'command', command: 'join_channel', data: { channel } })));
  } else {
    socket.write(
      `GET /realtime/events?channels=ticks,fill HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n\r\n`,
    );
  }
  return { kind, socket, done };
}

/** The close code of the first close frame in a server's byte stream after the HTTP head, or null. */
function closeCode(bytes: Buffer): number | null {
  let i = bytes.indexOf('\r\n\r\n');
  if (i === -1) return null;
  i += 4;
  while (i + 2 <= bytes.length) {
    const opcode = bytes[i] & 0x0f;
    let len = bytes[i + 1] & 0x7f;
    let at = i + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(at));
      at += 8;
    }
    if (at + len > bytes.length) return null;
    if (opcode === 0x8) return len >= 2 ? bytes.readUInt16BE(at) : null;
    i = at + len;
  }
  return null;
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
}

interface RunResult {
  p99: number;
  deliveries: number;
  baselineRss: number;
  peakRss: number;
  stats: Record<string, unknown>;
}

async function run(withStalled: boolean): Promise<RunResult> {
  const child = await Child.start({
    clientBufferBytes: BUFFER,
    historyMaxBytes: 16 * 1024 * 1024,
    wsRateLimit: 0,
    maxConnectionsPerIp: 0,
  });
  const live: Live[] = [];
  const stalls: Stalled[] = [];
  try {
    for (let i = 0; i < LIVE / 2; i++) live.push(await liveWs(child.url), await liveSse(child.url));
    // Warm-up: JIT, history at its byte bound, sockets' buffers grown.
    const warm = await child.ask({ type: 'stream', ms: 3000, rate: RATE }, 'streamed');
    await waitFor(() => live.every((l) => l.tally.seqs.length === warm.ticks), 10_000, 'warm-up ticks');
    for (const l of live) l.tally.reset();
    const base = await child.ask({ type: 'state' }, 'state');

    if (withStalled) {
      for (let i = 0; i < STALLED / 2; i++)
        stalls.push(await stalled(child.url, 'ws'), await stalled(child.url, 'sse'));
      await waitFor(
        async () => (await child.ask({ type: 'state', channels: ['fill'] }, 'state')).subscribers.fill === STALLED,
        10_000,
        'stalled clients to join',
      );
      const filled = await child.ask({ type: 'fill', channel: 'fill' }, 'filled');
      assert.equal(filled.stats.slow_clients_dropped, 0, 'filling the kernel buffers dropped nobody yet');
    }
    const streamed = await child.ask({ type: 'stream', ms: RUN_MS, rate: RATE }, 'streamed');
    await waitFor(
      () => live.every((l) => l.tally.seqs.length >= streamed.ticks),
      10_000,
      'every live client to get every tick',
    );
    const expected = Array.from({ length: streamed.ticks }, (_, i) => i + 1);
    for (const [i, l] of live.entries())
      assert.deepEqual(l.tally.seqs, expected, `live client ${i}: every event once, in order`);
    const end = await child.ask({ type: 'state', channels: ['ticks'] }, 'state');

    if (withStalled) {
      assert.equal(end.stats.slow_clients_dropped, STALLED, 'every stalled client dropped at its bound');
      // Reading again, each stalled WS client finds the close frame 1013 after what was queued; each SSE stream has ended.
      for (const s of stalls) s.socket.resume();
      const read = await Promise.all(stalls.map((s) => s.done));
      let sseBytes = 0;
      stalls.forEach((s, i) => {
        if (s.kind === 'ws') assert.equal(closeCode(read[i]), 1013, `stalled WS client ${i} reads close 1013`);
        else {
          assert.match(read[i].subarray(0, 200).toString('latin1'), /^HTTP\/1\.1 200/);
          sseBytes += read[i].length;
        }
      });
      console.log(
        `[stalled-clients] each stalled SSE client read ${MiB(sseBytes / (STALLED / 2))} before its stream ended`,
      );
    }
    const all = live.flatMap((l) => l.tally.latencies);
    if (process.env.HUBCAST_STALLED_DEBUG) {
      // p99 per second of the run: where the slow deliveries were.
      const at = live.flatMap((l) => l.tally.at!);
      const t0 = at.reduce((a, b) => Math.min(a, b), Infinity);
      const buckets = new Map<number, number[]>();
      at.forEach((t, i) => {
        const b = Math.floor((t - t0) / 1000);
        if (!buckets.has(b)) buckets.set(b, []);
        buckets.get(b)!.push(all[i]);
      });
      console.error(
        `[stalled-clients] withStalled=${withStalled} p99 per second:`,
        [...buckets].map(([b, v]) => `${b}s ${p99(v).toFixed(1)}`).join(', '),
      );
    }
    return {
      p99: p99(all),
      deliveries: all.length,
      baselineRss: base.rss,
      peakRss: Math.max(streamed.peak, end.rss),
      stats: end.stats,
    };
  } finally {
    for (const l of live) l.close();
    for (const s of stalls) s.socket.destroy();
    if (!child.exited) await child.ask({ type: 'stop' }, 'stopped');
  }
}

test('100 stalled clients beside 100 live ones: bounded server memory, 1013 / ended streams, live latency unchanged', {
  timeout: 180_000,
}, async (t) => {
  const without = await run(false);
  const withStalled = await run(true);
  const bound = withStalled.baselineRss + STALLED * BUFFER + RSS_SLACK;
  const allowed = without.p99 * 1.2 + P99_SLACK_MS;
  console.log(
    `[stalled-clients] live p99 delivery latency: ${without.p99.toFixed(2)} ms without stalled clients, ${withStalled.p99.toFixed(2)} ms with ${STALLED} (allowed ≤ ${allowed.toFixed(2)} ms; ${without.deliveries} / ${withStalled.deliveries} deliveries)`,
  );
  console.log(
    `[stalled-clients] server RSS: baseline ${MiB(withStalled.baselineRss)}, peak ${MiB(withStalled.peakRss)} with ${STALLED} stalled clients; bound ${MiB(bound)} = baseline + ${STALLED} × ${BUFFER / 1024} KiB + ${MiB(RSS_SLACK)} slack (run without: baseline ${MiB(without.baselineRss)}, peak ${MiB(without.peakRss)})`,
  );
  assert.ok(withStalled.peakRss < bound, `server RSS peaked at ${MiB(withStalled.peakRss)}, over ${MiB(bound)}`);
  // The turn in which all 100 stalled clients reach their bound and are dropped used to stall
  // delivery ~40 ms (HUBCAST_STALLED_DEBUG=1 prints the p99 per second): destroying a socket
  // with ~1,000 queued writes made Node build one error per write. Dropped sockets are now
  // destroyed with one shared error (src/transports/drop-socket.ts) and the burst costs ~3 ms.
  await t.test('live p99 within 20 % + 5 ms of the run without stalled clients', () => {
    assert.ok(
      withStalled.p99 <= allowed,
      `live p99 ${withStalled.p99.toFixed(2)} ms with stalled clients, over ${allowed.toFixed(2)} ms`,
    );
  });
});
