/**
 * Client side of bench:e2e (forked by bench/e2e.ts): a tap on the `catalog`
 * exchange that records each change event's `occurred_at`, and `count` raw
 * WebSocket subscribers of `products`. For product p the k-th change event
 * after the baseline yields version base[p] + k (the gateway applies one
 * product's events in order), so a `product.updated` for version v is matched
 * to the event that produced it and timed from its `occurred_at`.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { Histogram, nowMicros } from './lib/measure.js';
import { HEAD_END, eachFrame, maskedFrame, readInt } from './lib/ws-wire.js';

export type E2eParentMessage =
  /** slowMs: a delivery slower than this counts as slow in the per-second series. */
  | { cmd: 'start'; port: number; count: number; brokerUrl: string; base: Record<string, number>; slowMs: number }
  | { cmd: 'reset' }
  | { cmd: 'report' }
  | { cmd: 'exit' };

export type E2eWorkerMessage =
  | { type: 'ready'; error?: string }
  | { type: 'progress'; tapped: number; complete: number }
  | { type: 'tap-lost'; error: string }
  | {
      type: 'report';
      tapped: number;
      received: number;
      lost: number;
      duplicated: number;
      unmatched: number;
      hist: { counts: number[]; max: number; sum: number };
      /** Per second of the run (by the event's occurred_at): deliveries, those over SLOW_MS, and the slowest (µs). */
      seconds: Array<{ n: number; slow: number; max: number }>;
    };

const MARK_DATA_ID = Buffer.from('"data":{"id":');
const MARK_VERSION = Buffer.from('"version":');
const MARK_UPDATED = Buffer.from('"event":"product.updated"');

interface Sub {
  socket: Socket;
  buf: Buffer | null;
  headerDone: boolean;
  ready: boolean;
  /** Last version seen per product id. */
  last: Map<number, number>;
}

let base = new Map<number, number>();
/** occurred_at (µs) of each change event per product, in publish order. */
const occurred = new Map<number, number[]>();
/** Receipts that arrived before the tap saw their event (rare). */
let pending: Array<{ p: number; k: number; now: number }> = [];
let tapped = 0;
let hist = new Histogram();
/** When the slow events happened: a start-up burst and a steady tail call for different fixes. */
let seconds: Array<{ n: number; slow: number; max: number }> = [];
let firstOccurred = 0;
let slowMicros = Infinity;
/** Per product: index (into `occurred`) of the first event measured (events before it were tapped before the last reset). */
let measuredFrom = new Map<number, number>();
let received = 0;
let duplicated = 0;
let gapLost = 0;
const subs: Sub[] = [];

function record(occurredAt: number, now: number): void {
  const latency = now - occurredAt;
  hist.record(latency);
  if (firstOccurred === 0) firstOccurred = occurredAt;
  const s = Math.max(0, Math.floor((occurredAt - firstOccurred) / 1e6));
  while (seconds.length <= s) seconds.push({ n: 0, slow: 0, max: 0 });
  const bucket = seconds[s];
  bucket.n++;
  if (latency > slowMicros) bucket.slow++;
  if (latency > bucket.max) bucket.max = latency;
}

function onUpdate(sub: Sub, p: number, v: number, now: number): void {
  const last = sub.last.get(p) ?? base.get(p) ?? 0;
  if (v <= last) {
    duplicated++;
    return;
  }
  if (v > last + 1) gapLost += v - last - 1;
  sub.last.set(p, v);
  const k = v - (base.get(p) ?? 0);
  // An event tapped before the last reset (the warm-up) is checked for order but not measured.
  if (k - 1 < (measuredFrom.get(p) ?? 0)) return;
  received++;
  const t = occurred.get(p)?.[k - 1];
  if (t === undefined) pending.push({ p, k, now });
  else record(t, now);
}

function onData(sub: Sub, chunk: Buffer): void {
  const buf = sub.buf === null ? chunk : Buffer.concat([sub.buf, chunk]);
  sub.buf = null;
  let pos = 0;
  if (!sub.headerDone) {
    const end = buf.indexOf(HEAD_END);
    if (end < 0) {
      sub.buf = buf;
      return;
    }
    sub.headerDone = true;
    pos = end + 4;
  }
  const now = nowMicros();
  const n = buf.length;
  pos = eachFrame(buf, pos, (opcode, start, end) => {
    if (opcode === 1) {
      if (!sub.ready) {
        const msg = JSON.parse(buf.toString('utf8', start, end)) as { type: string };
        if (msg.type === 'connected') {
          sub.socket.write(
            maskedFrame(
              1,
              Buffer.from(
                JSON.stringify({ type: 'command', command: 'join_channel', data: { channel: 'products' }, ref: 1 }),
              ),
            ),
          );
        } else if (msg.type === 'reply') {
          sub.ready = true;
          readyCount++;
          if (readyCount === subs.length) process.send?.({ type: 'ready' } satisfies E2eWorkerMessage);
        }
      } else {
        const u = buf.indexOf(MARK_UPDATED, start);
        if (u >= 0 && u < end) {
          const d = buf.indexOf(MARK_DATA_ID, start);
          const vi = buf.indexOf(MARK_VERSION, d);
          if (d >= 0 && vi >= 0 && vi < end)
            onUpdate(sub, readInt(buf, d + MARK_DATA_ID.length), readInt(buf, vi + MARK_VERSION.length), now);
        }
      }
    } else if (opcode === 9) sub.socket.write(maskedFrame(0xa, buf.subarray(start, end)));
  });
  if (pos < n) sub.buf = Buffer.from(buf.subarray(pos));
}

let readyCount = 0;

async function start(msg: Extract<E2eParentMessage, { cmd: 'start' }>): Promise<void> {
  slowMicros = msg.slowMs * 1000;
  base = new Map(Object.entries(msg.base).map(([k, v]) => [Number(k), v]));
  const conn = await amqp.connect(msg.brokerUrl);
  // Without the tap the version → event mapping breaks: say so, never guess.
  conn.on('close', () =>
    process.send?.({
      type: 'tap-lost',
      error: 'tap connection to RabbitMQ closed (broker restarted?)',
    } satisfies E2eWorkerMessage),
  );
  conn.on('error', (err: Error) => process.send?.({ type: 'tap-lost', error: err.message } satisfies E2eWorkerMessage));
  const ch = await conn.createChannel();
  await ch.checkExchange('catalog');
  const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  await ch.bindQueue(q.queue, 'catalog', 'product.changed');
  await ch.consume(
    q.queue,
    (m) => {
      if (m === null) return;
      const e = JSON.parse(m.content.toString()) as { product_id: number; occurred_at: string };
      let list = occurred.get(e.product_id);
      if (list === undefined) occurred.set(e.product_id, (list = []));
      list.push(Date.parse(e.occurred_at) * 1000);
      tapped++;
    },
    { noAck: true },
  );
  for (let i = 0; i < msg.count; i++) {
    const socket = connect({ host: '127.0.0.1', port: msg.port });
    socket.setNoDelay(true);
    const sub: Sub = { socket, buf: null, headerDone: false, ready: false, last: new Map() };
    subs.push(sub);
    socket.on('connect', () =>
      socket.write(
        `GET /realtime/ws HTTP/1.1\r\nHost: 127.0.0.1:${msg.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    socket.on('data', (c: Buffer) => onData(sub, c));
    socket.on('error', (err) => process.send?.({ type: 'ready', error: err.message } satisfies E2eWorkerMessage));
  }
}

/** Subscribers that have every tapped event: all products at base + tapped count. */
function complete(): number {
  // A delivery of an event the tap has not recorded yet: the tap is behind, so nobody is complete.
  if (pending.length > 0) return 0;
  let n = 0;
  for (const s of subs) {
    let ok = true;
    for (const [p, list] of occurred) {
      if ((s.last.get(p) ?? base.get(p) ?? 0) < (base.get(p) ?? 0) + list.length) {
        ok = false;
        break;
      }
    }
    if (ok) n++;
  }
  return n;
}

setInterval(() => {
  // Resolve receipts that beat the tap.
  if (pending.length > 0) {
    const still: typeof pending = [];
    for (const r of pending) {
      const t = occurred.get(r.p)?.[r.k - 1];
      if (t === undefined) still.push(r);
      else record(t, r.now);
    }
    pending = still;
  }
  process.send?.({ type: 'progress', tapped, complete: complete() } satisfies E2eWorkerMessage);
}, 50).unref();

process.on('message', (msg: E2eParentMessage) => {
  switch (msg.cmd) {
    case 'start':
      start(msg).catch((err) => process.send?.({ type: 'ready', error: String(err) } satisfies E2eWorkerMessage));
      return;
    case 'reset':
      // Measure only the events tapped from now on: deliveries of earlier ones may still arrive.
      measuredFrom = new Map([...occurred].map(([p, list]) => [p, list.length]));
      hist = new Histogram();
      seconds = [];
      firstOccurred = 0;
      received = duplicated = gapLost = 0;
      tapped = 0;
      return;
    case 'report': {
      // Whatever a subscriber never reached counts as lost.
      let lost = gapLost;
      for (const s of subs) {
        for (const [p, list] of occurred) {
          const want = (base.get(p) ?? 0) + list.length;
          const have = s.last.get(p) ?? base.get(p) ?? 0;
          if (have < want) lost += want - have;
        }
      }
      process.send?.({
        type: 'report',
        tapped,
        received,
        lost,
        duplicated,
        unmatched: pending.length,
        hist: hist.toJSON(),
        seconds,
      } satisfies E2eWorkerMessage);
      return;
    }
    case 'exit':
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
