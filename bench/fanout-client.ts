/**
 * Load-generator worker for the fan-out benchmarks (forked by bench/fanout.ts,
 * talks to it over IPC). Holds `count` subscribers on one channel over raw TCP
 * sockets with a minimal WebSocket / SSE reader: a library client (ws,
 * eventsource) costs several times the server's own work per message, and the
 * harness must not be what is measured.
 *
 * Every event carries `"s":<seq>,"t":<send time in µs>`; per subscriber the
 * worker checks the sequence (a gap is a loss, a repeat a duplicate) and
 * records publish → receipt latency into a histogram.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Histogram, nowMicros } from './lib/measure.js';
import { HEAD_END, eachFrame, maskedFrame, readInt } from './lib/ws-wire.js';

export type Transport = 'ws' | 'sse';

export type ParentMessage =
  | {
      cmd: 'connect';
      host: string;
      port: number;
      transport: Transport;
      channel: string;
      count: number;
      wsPath?: string;
      ssePath?: string;
      join?: 'hubcast' | 'socketio' | 'none' | 'upgrade';
    }
  | { cmd: 'reset'; phase: number }
  | { cmd: 'report'; events: number }
  | { cmd: 'exit' };

export type WorkerMessage =
  | { type: 'ready'; connected: number; failed: number; error?: string }
  | { type: 'progress'; phase: number; min: number; received: number }
  | {
      type: 'report';
      received: number;
      lost: number;
      duplicated: number;
      closed: number;
      firstMicros: number;
      lastMicros: number;
      hist: { counts: number[]; max: number; sum: number };
    };

const MARK_S = Buffer.from('"s":');
const MARK_T = Buffer.from('"t":');
/** Every socket of the worker reads into this (see `open`). */
const READ_BUFFER = Buffer.alloc(256 * 1024);
const BLOCK_END = Buffer.from('\n\n');

class Sub {
  /** Next sequence number expected. */
  next = 0;
  buf: Buffer | null = null;
  headerDone = false;
  /** WS: joined the channel; SSE: got the welcome event. */
  ready = false;
  closed = false;
  constructor(readonly socket: Socket) {}
}

const state = {
  transport: 'ws' as Transport,
  subs: [] as Sub[],
  hist: new Histogram(),
  received: 0,
  lost: 0,
  duplicated: 0,
  closed: 0,
  firstMicros: 0,
  lastMicros: 0,
  /** `upgrade`: subscribed once the response head arrives (Nchan: no welcome frame or event). */
  join: 'hubcast' as 'hubcast' | 'socketio' | 'none' | 'upgrade',
  channel: '',
  phase: 0,
};

/** One event seen by `sub`: sequence check and latency. */
function onEvent(sub: Sub, buf: Buffer, from: number, to: number, now: number): void {
  const si = buf.indexOf(MARK_S, from);
  if (si < 0 || si >= to) return; // not a bench event (welcome, heartbeat, reply)
  const seq = readInt(buf, si + 4);
  const ti = buf.indexOf(MARK_T, si);
  const sent = ti < 0 || ti >= to ? now : readInt(buf, ti + 4);
  if (seq === sub.next) sub.next++;
  else if (seq < sub.next) state.duplicated++;
  else {
    state.lost += seq - sub.next;
    sub.next = seq + 1;
  }
  state.received++;
  state.hist.record(now - sent);
  if (state.firstMicros === 0) state.firstMicros = now;
  state.lastMicros = now;
}

/**
 * The response head, before a subscriber's first frame or event: where the
 * body starts in `buf`, or -1 when the head is incomplete (kept for the next
 * read) or was a refusal (the subscriber failed).
 */
function afterHead(sub: Sub, buf: Buffer, status: string, refusal: string): number {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) {
    sub.buf = Buffer.from(buf); // copy: the read buffer is shared
    return -1;
  }
  if (!buf.subarray(0, 12).toString('latin1').includes(status)) {
    fail(sub, `${refusal}: ${buf.subarray(0, buf.indexOf('\r\n')).toString()}`);
    return -1;
  }
  sub.headerDone = true;
  if (state.join === 'upgrade') markReady(sub);
  return end + 4;
}

// ---- WebSocket ------------------------------------------------------------

function onWsData(sub: Sub, chunk: Buffer): void {
  const buf = sub.buf === null ? chunk : Buffer.concat([sub.buf, chunk]);
  sub.buf = null;
  const body = sub.headerDone ? 0 : afterHead(sub, buf, ' 101', 'upgrade refused');
  if (body < 0) return;
  const now = nowMicros();
  const n = buf.length;
  const pos = eachFrame(buf, body, (opcode, start, end) => {
    if (opcode === 1) {
      if (sub.ready) {
        // Socket.IO's heartbeat: the server pings ("2"), the client answers ("3").
        if (end - start === 1 && buf[start] === 0x32 && state.join === 'socketio')
          sub.socket.write(maskedFrame(1, Buffer.from('3')));
        else onEvent(sub, buf, start, end, now);
      } else if (state.join === 'socketio') onSocketIoSetupFrame(sub, buf.toString('utf8', start, end));
      else onWsSetupFrame(sub, buf.subarray(start, end));
    } else if (opcode === 9) {
      sub.socket.write(maskedFrame(0xa, buf.subarray(start, end)));
    } else if (opcode === 8) {
      sub.closed = true;
    }
  });
  if (pos < n) sub.buf = Buffer.from(buf.subarray(pos)); // copy: don't pin the whole chunk
}

function onWsSetupFrame(sub: Sub, payload: Buffer): void {
  const msg = JSON.parse(payload.toString('utf8')) as { type: string; ok?: boolean; message?: string };
  if (msg.type === 'connected') {
    if (state.join === 'none') return markReady(sub);
    const join = JSON.stringify({ type: 'command', command: 'join_channel', data: { channel: state.channel }, ref: 1 });
    sub.socket.write(maskedFrame(1, Buffer.from(join)));
  } else if (msg.type === 'reply' && msg.ok) markReady(sub);
  else if (msg.type === 'error') fail(sub, `join refused: ${msg.message}`);
}

/** Engine.IO v4 over a WebSocket: open (0…) → connect the namespace (40) → join with an ack (420 → 430). */
function onSocketIoSetupFrame(sub: Sub, text: string): void {
  if (text.startsWith('0{')) sub.socket.write(maskedFrame(1, Buffer.from('40')));
  else if (text.startsWith('40'))
    sub.socket.write(maskedFrame(1, Buffer.from(`420${JSON.stringify(['join', state.channel])}`)));
  else if (text.startsWith('430')) markReady(sub);
  else if (text === '2') sub.socket.write(maskedFrame(1, Buffer.from('3')));
}

// ---- SSE ------------------------------------------------------------------

function onSseData(sub: Sub, chunk: Buffer): void {
  const buf = sub.buf === null ? chunk : Buffer.concat([sub.buf, chunk]);
  sub.buf = null;
  let pos = sub.headerDone ? 0 : afterHead(sub, buf, ' 200', 'SSE refused');
  if (pos < 0) return;
  const now = nowMicros();
  for (;;) {
    const end = buf.indexOf(BLOCK_END, pos);
    if (end < 0) break;
    if (sub.ready) onEvent(sub, buf, pos, end, now);
    else if (buf.subarray(pos, end).includes('"connected"')) markReady(sub);
    pos = end + 2;
  }
  if (pos < buf.length) sub.buf = Buffer.from(buf.subarray(pos));
}

// ---- connection setup -----------------------------------------------------

let pendingReady = 0;
let failed = 0;
let firstError: string | undefined;
let onAllReady: (() => void) | null = null;

function markReady(sub: Sub): void {
  if (sub.ready) return;
  sub.ready = true;
  settle();
}

function fail(sub: Sub, error: string): void {
  failed++;
  firstError ??= error;
  sub.socket.destroy();
  settle();
}

function settle(): void {
  pendingReady--;
  if (pendingReady === 0 && onAllReady) onAllReady();
}

function open(msg: Extract<ParentMessage, { cmd: 'connect' }>): Sub {
  const onData = msg.transport === 'ws' ? onWsData : onSseData;
  // `onread`: the socket reads into one buffer shared by every socket of this worker, and the
  // callback parses it on the spot — no Buffer per read, no Readable stream in between. The
  // parsers copy whatever they keep (a partial frame) before returning.
  const socket: Socket = connect({
    host: msg.host,
    port: msg.port,
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buf: Uint8Array) => {
        onData(sub, (buf as Buffer).subarray(0, n));
        return true; // keep reading
      },
    },
  });
  socket.setNoDelay(true);
  const sub = new Sub(socket);
  socket.on('connect', () => {
    if (msg.transport === 'ws') {
      const key = randomBytes(16).toString('base64');
      socket.write(
        `GET ${msg.wsPath ?? '/realtime/ws'} HTTP/1.1\r\nHost: ${msg.host}:${msg.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    } else {
      const path = msg.ssePath ?? `/realtime/events?channels=${encodeURIComponent(msg.channel)}`;
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${msg.host}:${msg.port}\r\nAccept: text/event-stream\r\n\r\n`);
    }
  });
  socket.on('error', (err) => {
    if (!sub.ready && !sub.closed) {
      sub.closed = true;
      fail(sub, err.message);
    }
  });
  socket.on('close', () => {
    if (sub.ready) state.closed++;
    sub.closed = true;
  });
  return sub;
}

async function connectAll(msg: Extract<ParentMessage, { cmd: 'connect' }>): Promise<void> {
  state.transport = msg.transport;
  state.channel = msg.channel;
  state.join = msg.join ?? 'hubcast';
  // Open in waves: a burst of thousands of SYNs overflows the listen backlog.
  const WAVE = 250;
  for (let i = 0; i < msg.count; i += WAVE) {
    const n = Math.min(WAVE, msg.count - i);
    pendingReady = n;
    const done = new Promise<void>((resolve) => (onAllReady = resolve));
    for (let j = 0; j < n; j++) state.subs.push(open(msg));
    await done;
    if (failed > 0) break;
  }
  onAllReady = null;
  send({ type: 'ready', connected: state.subs.filter((s) => s.ready).length, failed, error: firstError });
}

function send(msg: WorkerMessage): void {
  process.send?.(msg);
}

// Progress: the lowest sequence every subscriber of this worker has reached
// (the publisher bounds how far ahead of the slowest subscriber it runs).
let lastMin = -1;
const progress = setInterval(() => {
  if (state.subs.length === 0) return;
  let min = Infinity;
  for (const s of state.subs) if (s.ready && !s.closed && s.next < min) min = s.next;
  if (min !== lastMin) {
    lastMin = min;
    send({ type: 'progress', phase: state.phase, min, received: state.received });
  }
}, 5);
progress.unref();

process.on('message', (msg: ParentMessage) => {
  switch (msg.cmd) {
    case 'connect':
      connectAll(msg).catch((err) => send({ type: 'ready', connected: 0, failed: msg.count, error: String(err) }));
      return;
    case 'reset':
      // Between phases: sequence numbers restart at 0.
      state.phase = msg.phase;
      for (const s of state.subs) s.next = 0;
      state.hist = new Histogram();
      state.received = state.lost = state.duplicated = 0;
      state.firstMicros = state.lastMicros = 0;
      lastMin = -1;
      return;
    case 'report': {
      let lost = state.lost;
      for (const s of state.subs) if (s.ready && s.next < msg.events) lost += msg.events - s.next;
      send({
        type: 'report',
        received: state.received,
        lost,
        duplicated: state.duplicated,
        closed: state.closed,
        firstMicros: state.firstMicros,
        lastMicros: state.lastMicros,
        hist: state.hist.toJSON(),
      });
      return;
    }
    case 'exit':
      for (const s of state.subs) s.socket.destroy();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
