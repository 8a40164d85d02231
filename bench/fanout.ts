/**
 * Fan-out benchmark: one publisher, N subscribers on one channel, M events of
 * ~200 bytes each carrying its send time. The server runs in its own process
 * (CPU 0), subscribers in forked worker processes (CPU 1, at most
 * --per-worker sockets each: the open-files limit is per process), the
 * publisher here (CPU 1).
 *
 * Phases per N (--phases):
 *   saturate  --window publishes in flight (acknowledged by the server), and
 *             never more than --lag events ahead of the slowest subscriber:
 *             deliveries/s at saturation with bounded buffers;
 *   single    the same with ONE publish in flight (nothing for a server to batch);
 *   rate      --rate events/s for --seconds: latency at a fixed load (only for
 *             the N in --rate-n, when given).
 * A saturating phase stops publishing after --max-seconds and counts what it sent.
 *
 * Prints a table and writes bench/results/fanout-<transport>-<time>.json.
 *
 *   npm run bench:fanout -- [--n 1000,10000] [--events M] [--rate R] [--seconds S]
 *                           [--transport ws|sse] [--window 8] [--lag 64] [--smoke]
 *                           [--phases saturate,single,rate] [--rate-n 5000] [--max-seconds 8]
 *                           [--servers hubcast,naive-ws,socketio,uws,nchan]
 * Env: BENCH_N, BENCH_EVENTS, BENCH_RATE, BENCH_TRANSPORT, BENCH_SERVER_NODE_ARGS.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import {
  cpuMicros,
  cpuSplitMicros,
  rssKiB,
  nowMicros,
  pin,
  canPin,
  Histogram,
  fmtMs,
  fmtInt,
  cpuTimes,
  cpuBusyPct,
  backgroundLoad,
} from './lib/measure.js';
import { startServer, type ServerProc } from './lib/server-proc.js';
import { barChart } from './lib/svg.js';
import { ensureNchan, ensureUws } from './lib/peers.js';
import { ROOT, compiledScript, warnIfDistStale } from './lib/harness.js';
import type { ParentMessage, WorkerMessage, Transport } from './fanout-client.js';

const SERVER_CPU = 0;
const CLIENT_CPU = 1;

const { values: opts } = parseArgs({
  options: {
    n: { type: 'string', default: process.env.BENCH_N },
    events: { type: 'string', default: process.env.BENCH_EVENTS },
    rate: { type: 'string', default: process.env.BENCH_RATE },
    seconds: { type: 'string', default: process.env.BENCH_SECONDS },
    transport: { type: 'string', default: process.env.BENCH_TRANSPORT ?? 'ws' },
    window: { type: 'string', default: '8' },
    lag: { type: 'string', default: '64' },
    'per-worker': { type: 'string', default: '5000' },
    'payload-bytes': { type: 'string', default: '200' },
    phases: { type: 'string', default: 'saturate,rate' },
    'rate-n': { type: 'string' },
    'max-seconds': { type: 'string', default: '8' },
    servers: { type: 'string', default: process.env.BENCH_SERVERS ?? 'hubcast' },
    smoke: { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
  allowPositionals: false,
});

const smoke = opts.smoke!;
const transport = opts.transport as Transport;
if (transport !== 'ws' && transport !== 'sse') throw new Error(`--transport: expected ws or sse, got ${transport}`);
const Ns = (opts.n ?? (smoke ? '200' : '1000,10000')).split(',').map(Number);
const window = Number(opts.window);
const lagBound = Number(opts.lag);
const perWorker = Number(opts['per-worker']);
const rate = Number(opts.rate ?? (smoke ? 100 : 100));
const seconds = Number(opts.seconds ?? (smoke ? 1 : 5));
const payloadBytes = Number(opts['payload-bytes']);
type Phase = 'saturate' | 'single' | 'rate';
const phases = opts.phases!.split(',') as Phase[];
for (const p of phases)
  if (p !== 'saturate' && p !== 'single' && p !== 'rate') throw new Error(`--phases: unknown phase ${p}`);
const rateNs = opts['rate-n'] ? opts['rate-n'].split(',').map(Number) : null;
const maxSeconds = Number(opts['max-seconds']);
const pinning = !opts['no-pin'] && canPin();
const CHANNEL = 'bench:fanout';

/** Servers the harness can drive; each speaks (a subset of) hubcast's WS protocol or plain SSE. */
const SERVERS: Record<
  string,
  { script: string; transports: Transport[]; nodeArgs?: string[]; protocol?: 'hubcast' | 'socketio' | 'nchan' }
> = {
  hubcast: { script: 'bench/servers/hubcast.ts', transports: ['ws', 'sse'], nodeArgs: ['--max-semi-space-size=1'] },
  'naive-ws': { script: 'bench/servers/naive-ws.ts', transports: ['ws'] },
  socketio: { script: 'bench/servers/socketio.ts', transports: ['ws'], protocol: 'socketio' },
  uws: { script: 'bench/servers/uws.ts', transports: ['ws'] },
  // nginx + the Nchan C module, one worker; the wrapper announces the worker's pid.
  nchan: { script: 'bench/servers/nchan.ts', transports: ['ws', 'sse'], protocol: 'nchan' },
};
/** Nchan's channel id (in a URL path). */
const NCHAN_CHANNEL = 'bench_fanout';
const serverNames = opts.servers!.split(',');
for (const name of serverNames)
  if (!SERVERS[name]) throw new Error(`--servers: unknown server ${name}; known: ${Object.keys(SERVERS).join(', ')}`);

/** Events in the saturation phase: about 5M deliveries per N unless given. */
function eventsFor(n: number): number {
  if (opts.events) return Number(opts.events);
  if (smoke) return 300;
  return Math.max(200, Math.min(5000, Math.round(5_000_000 / n)));
}

interface Worker {
  child: ChildProcess;
  min: number;
  phase: number;
  on(type: WorkerMessage['type'], fn: (msg: any) => void): void;
}

function startWorker(): Worker {
  const child = fork(compiledScript('bench/fanout-client.ts'), [], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const handlers = new Map<string, (msg: any) => void>();
  const w: Worker = {
    child,
    min: 0,
    phase: 0,
    on: (type, fn) => handlers.set(type, fn),
  };
  child.on('message', (msg: WorkerMessage) => {
    if (msg.type === 'progress') {
      if (msg.phase === w.phase) w.min = msg.min;
    }
    handlers.get(msg.type)?.(msg);
  });
  return w;
}

function request<T extends WorkerMessage['type']>(
  w: Worker,
  msg: ParentMessage,
  reply: T,
): Promise<Extract<WorkerMessage, { type: T }>> {
  return new Promise((resolve) => {
    w.on(reply, resolve);
    w.child.send(msg);
  });
}

interface Publisher {
  publish(seq: number, pad: string): void;
  onAck(fn: (delivered: number) => void): void;
  onClose(fn: () => void): void;
  close(): void;
}

/** hubcast's protocol: a WebSocket client sending `channel_message` with a `ref`; the reply is the ack. */
async function openHubcastPublisher(port: number): Promise<Publisher> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/realtime/ws`);
  let ack: (d: number) => void = () => undefined;
  let closed: () => void = () => undefined;
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as {
      type: string;
      ok?: boolean;
      data?: { delivered: number };
      message?: string;
    };
    if (msg.type === 'reply') ack(msg.data?.delivered ?? 0);
    else if (msg.type === 'error') throw new Error(`publish refused: ${msg.message}`);
  });
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  ws.on('close', () => closed());
  return {
    publish: (seq, pad) =>
      ws.send(
        `{"type":"channel_message","channel":"${CHANNEL}","message":{"s":${seq},"t":${nowMicros()},"p":"${pad}"},"ref":${seq}}`,
      ),
    onAck: (fn) => (ack = fn),
    onClose: (fn) => (closed = fn),
    close: () => {
      closed = () => undefined;
      ws.close();
    },
  };
}

/** Socket.IO: `publish(room, message, ack)` from socket.io-client. */
async function openSocketIoPublisher(port: number): Promise<Publisher> {
  const { io } = await import('socket.io-client');
  const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
  await new Promise<void>((res, rej) => {
    socket.once('connect', () => res());
    socket.once('connect_error', rej);
  });
  let ack: (d: number) => void = () => undefined;
  let closed: () => void = () => undefined;
  socket.on('disconnect', () => closed());
  return {
    publish: (seq, pad) =>
      socket.emit('publish', CHANNEL, { s: seq, t: nowMicros(), p: pad }, (r: { delivered: number }) =>
        ack(r.delivered),
      ),
    onAck: (fn) => (ack = fn),
    onClose: (fn) => (closed = fn),
    close: () => {
      closed = () => undefined;
      socket.close();
    },
  };
}

/**
 * Nchan: `POST /pub?id=<channel>`, pipelined on ONE keep-alive connection (nginx
 * answers pipelined requests in order, so events keep their publish order,
 * which several connections would not); the reply's `active subscribers: N`
 * is the ack. The body is the event itself, so it gets the padding the hubcast
 * envelope takes elsewhere.
 */
async function openNchanPublisher(port: number): Promise<Publisher> {
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise<void>((res, rej) => {
    socket.once('connect', () => res());
    socket.once('error', rej);
  });
  let ack: (d: number) => void = () => undefined;
  let closed: () => void = () => undefined;
  let buf = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    for (;;) {
      const head = buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const len = Number(/content-length: *(\d+)/i.exec(buf.slice(0, head))?.[1] ?? 0);
      if (buf.length < head + 4 + len) return;
      const status = Number(buf.slice(9, 12));
      const body = buf.slice(head + 4, head + 4 + len);
      buf = buf.slice(head + 4 + len);
      if (status !== 201 && status !== 202) throw new Error(`nchan publish: HTTP ${status} ${body}`);
      ack(Number(/active subscribers: (\d+)/.exec(body)?.[1] ?? 0));
    }
  });
  socket.on('close', () => closed());
  return {
    publish: (seq, pad) => {
      const body = `{"s":${seq},"t":${nowMicros()},"p":"${pad}"}`;
      socket.write(
        `POST /pub?id=${NCHAN_CHANNEL} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    },
    onAck: (fn) => (ack = fn),
    onClose: (fn) => (closed = fn),
    close: () => {
      closed = () => undefined;
      socket.destroy();
    },
  };
}

/** Subscribers Nchan counts on the channel (GET on the publisher location). */
async function nchanSubscribers(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: `/pub?id=${NCHAN_CHANNEL}` }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(Number(/active subscribers: (\d+)/.exec(text)?.[1] ?? 0)));
    })
      .on('error', reject)
      .end();
  });
}

const PAD = 'x'.repeat(4096);

interface PhaseResult {
  server: string;
  transport: Transport;
  subscribers: number;
  phase: Phase;
  events: number;
  rate: number | null;
  window: number | null;
  deliveries: number;
  expected: number;
  seconds: number;
  deliveriesPerSec: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number; mean: number };
  lost: number;
  duplicated: number;
  closedByServer: number;
  serverCpuSec: number;
  serverCpuPct: number;
  clientCpuSec: number;
  clientCpuPct: number;
  serverCpuMicrosPerDelivery: number;
  serverUserMicrosPerDelivery: number;
  serverSysMicrosPerDelivery: number;
  harnessBound: boolean;
  /** Busy % of each CPU over the phase (whole machine, softirq included). */
  coreBusyPct: number[];
}

async function runPhase(
  server: ServerProc,
  workers: Worker[],
  n: number,
  phase: Phase,
  phaseNo: number,
): Promise<PhaseResult> {
  for (const w of workers) {
    w.phase = phaseNo;
    w.min = 0;
    w.child.send({ cmd: 'reset', phase: phaseNo } satisfies ParentMessage);
  }
  let events = phase === 'rate' ? Math.max(1, Math.round(rate * seconds)) : eventsFor(n);
  const phaseWindow = phase === 'single' ? 1 : window;
  const spec = SERVERS[server.name];
  const pub =
    spec.protocol === 'socketio'
      ? await openSocketIoPublisher(server.port)
      : spec.protocol === 'nchan'
        ? await openNchanPublisher(server.port)
        : await openHubcastPublisher(server.port);
  // Frame ≈ payloadBytes on the wire: hubcast's envelope and channel_message
  // wrapper are ~160 bytes; Nchan sends the published body as is (+ its SSE
  // `id:`/`data:` lines), so its body gets the rest.
  const pad = PAD.slice(
    0,
    Math.max(0, payloadBytes - (spec.protocol === 'nchan' ? (transport === 'sse' ? 70 : 45) : 160)),
  );
  const minAll = () => {
    let m = Infinity;
    for (const w of workers) if (w.min < m) m = w.min;
    return m;
  };

  const cpuServer0 = cpuMicros(server.pid);
  const split0 = cpuSplitMicros(server.pid);
  const cpuClients0 = workers.reduce((s, w) => s + cpuMicros(w.child.pid!), 0) + cpuMicros(process.pid);
  const sys0 = cpuTimes();
  const t0 = nowMicros();
  let seq = 0;
  let inflight = 0;
  let acked = 0;
  let deliveredPerPublish = -1;

  await new Promise<void>((resolveDone, rejectDone) => {
    let lastMin = -1;
    let lastChange = Date.now();
    const send = () => {
      pub.publish(seq, pad);
      seq++;
      inflight++;
    };
    const pump = () => {
      if (phase === 'rate') return;
      if (seq < events && nowMicros() - t0 > maxSeconds * 1e6) events = seq; // time cap: count what was sent
      while (seq < events && inflight < phaseWindow && seq - minAll() < lagBound) send();
    };
    pub.onAck((delivered) => {
      inflight--;
      acked++;
      if (deliveredPerPublish < 0) deliveredPerPublish = delivered;
      pump();
    });
    let ticker: NodeJS.Timeout | null = null;
    if (phase === 'rate') {
      ticker = setInterval(
        () => {
          const due = Math.min(events, Math.floor(((nowMicros() - t0) * rate) / 1e6) + 1);
          while (seq < due) send();
          if (seq >= events && ticker) clearInterval(ticker);
        },
        Math.max(1, Math.min(10, Math.floor(1000 / rate))),
      );
    }
    const watch = setInterval(() => {
      pump();
      const m = minAll();
      if (m !== lastMin) {
        lastMin = m;
        lastChange = Date.now();
      }
      if (m >= events && acked >= events) {
        clearInterval(watch);
        if (ticker) clearInterval(ticker);
        resolveDone();
      } else if (Date.now() - lastChange > 10_000) {
        clearInterval(watch);
        if (ticker) clearInterval(ticker);
        // No progress for 10 s: report what arrived; the losses show in the table.
        process.stderr.write(`[bench] ${phase} N=${n}: stalled at ${m}/${events} events; reporting\n`);
        resolveDone();
      }
    }, 2);
    pub.onClose(() => rejectDone(new Error('publisher connection closed')));
    pump();
  });
  const t1 = nowMicros();
  const coreBusy = cpuBusyPct(sys0, cpuTimes());
  const cpuServer1 = cpuMicros(server.pid);
  const split1 = cpuSplitMicros(server.pid);
  const cpuClients1 = workers.reduce((s, w) => s + cpuMicros(w.child.pid!), 0) + cpuMicros(process.pid);
  pub.close();

  const reports = await Promise.all(workers.map((w) => request(w, { cmd: 'report', events }, 'report')));
  const hist = new Histogram();
  let received = 0;
  let lost = 0;
  let duplicated = 0;
  let closed = 0;
  for (const r of reports) {
    hist.merge(r.hist);
    received += r.received;
    lost += r.lost;
    duplicated += r.duplicated;
    closed += r.closed;
  }
  const wallSec = (t1 - t0) / 1e6;
  const serverCpu = (cpuServer1 - cpuServer0) / 1e6;
  const clientCpu = (cpuClients1 - cpuClients0) / 1e6;
  const clientPct = (100 * clientCpu) / wallSec;
  const serverPct = (100 * serverCpu) / wallSec;
  return {
    server: server.name,
    transport,
    subscribers: n,
    phase,
    events,
    rate: phase === 'rate' ? rate : null,
    window: phase === 'rate' ? null : phaseWindow,
    deliveries: received,
    expected: events * n,
    seconds: wallSec,
    deliveriesPerSec: received / wallSec,
    latencyMs: hist.summaryMs(),
    lost,
    duplicated,
    closedByServer: closed,
    serverCpuSec: serverCpu,
    serverCpuPct: serverPct,
    clientCpuSec: clientCpu,
    clientCpuPct: clientPct,
    serverCpuMicrosPerDelivery: received > 0 ? (serverCpu * 1e6) / received : NaN,
    // Kernel time is the write syscalls plus, on loopback, the receiving side's TCP processing.
    serverUserMicrosPerDelivery: received > 0 ? (split1.user - split0.user) / received : NaN,
    serverSysMicrosPerDelivery: received > 0 ? (split1.sys - split0.sys) / received : NaN,
    // The client side (all on one CPU when pinned) was the limit, not the server.
    harnessBound: clientPct >= 90 && serverPct < 90,
    coreBusyPct: coreBusy.map((x) => Math.round(x)),
  };
}

async function benchN(
  serverName: string,
  n: number,
  phaseBase: number,
): Promise<{ results: PhaseResult[]; rss: { baseKiB: number; connectedKiB: number; perConnKiB: number } }> {
  const spec = SERVERS[serverName];
  const server = await startServer({
    name: serverName,
    args: [compiledScript(spec.script)],
    nodeArgs: process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? spec.nodeArgs ?? [],
    env: {
      ...(serverName === 'uws' ? { UWS_PATH: ensureUws() } : {}),
      REALTIME_MAX_CONNECTIONS: String(Math.max(20_000, n + 100)),
      LOG_LEVEL: 'warn',
    },
    cpu: pinning ? SERVER_CPU : undefined,
  });
  const workers: Worker[] = [];
  try {
    const base = rssKiB(server.pid).rss;
    const k = Math.max(1, Math.ceil(n / perWorker));
    for (let i = 0; i < k; i++) {
      const w = startWorker();
      if (pinning) pin(w.child.pid!, CLIENT_CPU);
      workers.push(w);
    }
    const t = Date.now();
    const readies = await Promise.all(
      workers.map((w, i) => {
        const count = Math.floor(n / k) + (i < n % k ? 1 : 0);
        const socketio = spec.protocol === 'socketio';
        const nchan = spec.protocol === 'nchan';
        return request(
          w,
          {
            cmd: 'connect',
            host: '127.0.0.1',
            port: server.port,
            transport,
            channel: CHANNEL,
            count,
            join: socketio ? 'socketio' : nchan ? 'upgrade' : 'hubcast',
            wsPath: socketio ? '/socket.io/?EIO=4&transport=websocket' : nchan ? `/sub/${NCHAN_CHANNEL}` : undefined,
            ssePath: nchan ? `/sub/${NCHAN_CHANNEL}` : undefined,
          },
          'ready',
        );
      }),
    );
    const connected = readies.reduce((s, r) => s + r.connected, 0);
    const failed = readies.reduce((s, r) => s + r.failed, 0);
    if (failed > 0 || connected !== n) {
      throw new Error(`only ${connected}/${n} subscribers connected: ${readies.find((r) => r.error)?.error ?? ''}`);
    }
    if (spec.protocol === 'nchan') {
      // Ready on the response head: wait until Nchan counts every subscriber on the channel.
      const until = Date.now() + 10_000;
      let count = 0;
      while ((count = await nchanSubscribers(server.port)) < n && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      if (count < n) throw new Error(`nchan: only ${count}/${n} subscribers on the channel`);
    }
    process.stderr.write(
      `[bench] ${transport} N=${n}: ${connected} subscribers in ${((Date.now() - t) / 1000).toFixed(1)} s over ${k} worker(s)\n`,
    );
    const connectedKiB = rssKiB(server.pid).rss;
    const results: PhaseResult[] = [];
    for (const [i, phase] of phases.entries()) {
      if (phase === 'rate' && rateNs !== null && !rateNs.includes(n)) continue;
      const r = await runPhase(server, workers, n, phase, phaseBase + i + 1);
      results.push(r);
      printRow(r);
    }
    return { results, rss: { baseKiB: base, connectedKiB, perConnKiB: (connectedKiB - base) / n } };
  } finally {
    for (const w of workers) {
      w.child.send({ cmd: 'exit' } satisfies ParentMessage);
    }
    await Promise.all(
      workers.map((w) => new Promise((r) => (w.child.exitCode !== null ? r(null) : w.child.once('exit', r)))),
    );
    await server.stop();
  }
}

const COLUMNS = [
  'server',
  'tr',
  'N',
  'phase',
  'events',
  'deliveries/s',
  'p50 ms',
  'p99 ms',
  'p999 ms',
  'max ms',
  'lost',
  'dup',
  'srv CPU',
  'cli CPU',
  'cores',
  'µs/deliv',
  'note',
];
const WIDTHS = [8, 3, 6, 8, 7, 12, 7, 7, 8, 7, 5, 4, 7, 7, 9, 20, 0];
function row(cells: string[]): string {
  return cells.map((c, i) => (WIDTHS[i] ? c.padStart(WIDTHS[i]) : c)).join('  ');
}
function printRow(r: PhaseResult): void {
  const label = r.phase === 'rate' ? `rate${r.rate}` : `sat w${r.window}`;
  // CPU time on the two cores that was neither the server's nor the harness's: other work on the machine.
  const foreign = r.coreBusyPct.length >= 2 ? r.coreBusyPct[0] + r.coreBusyPct[1] - r.serverCpuPct - r.clientCpuPct : 0;
  const note = [
    r.harnessBound ? 'harness-bound' : '',
    foreign > 30 ? `contended(+${Math.round(foreign)}% foreign CPU)` : '',
    r.lost || r.duplicated ? 'LOSS/DUP!' : '',
    r.closedByServer ? `${r.closedByServer} closed` : '',
  ]
    .filter(Boolean)
    .join(' ');
  console.log(
    row([
      r.server,
      r.transport,
      String(r.subscribers),
      label,
      String(r.events),
      fmtInt(r.deliveriesPerSec),
      fmtMs(r.latencyMs.p50 * 1000),
      fmtMs(r.latencyMs.p99 * 1000),
      fmtMs(r.latencyMs.p999 * 1000),
      fmtMs(r.latencyMs.max * 1000),
      String(r.lost),
      String(r.duplicated),
      `${r.serverCpuPct.toFixed(0)}%`,
      `${r.clientCpuPct.toFixed(0)}%`,
      r.coreBusyPct.join('/'),
      `${r.serverCpuMicrosPerDelivery.toFixed(2)} (${r.serverUserMicrosPerDelivery.toFixed(2)}u+${r.serverSysMicrosPerDelivery.toFixed(2)}s)`,
      note,
    ]),
  );
}

/**
 * Issue 4's goals as ratios, per N: hubcast against each peer measured in the
 * same run (saturation with --window in flight, one in flight, p99 at --rate).
 */
function printRatios(all: PhaseResult[]): void {
  const find = (server: string, n: number, phase: Phase) =>
    all.find((r) => r.server === server && r.subscribers === n && r.phase === phase);
  const lines: string[] = [];
  const x = (a: number, b: number) =>
    Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '-';
  for (const n of Ns) {
    const h = {
      sat: find('hubcast', n, 'saturate'),
      single: find('hubcast', n, 'single'),
      rate: find('hubcast', n, 'rate'),
    };
    if (!h.sat && !h.single && !h.rate) continue;
    for (const peer of serverNames.filter((s) => s !== 'hubcast')) {
      const p = { sat: find(peer, n, 'saturate'), single: find(peer, n, 'single'), rate: find(peer, n, 'rate') };
      const parts: string[] = [];
      if (h.sat && p.sat) {
        parts.push(`deliveries/s ${x(h.sat.deliveriesPerSec, p.sat.deliveriesPerSec)}`);
        parts.push(`µs/delivery ${x(h.sat.serverCpuMicrosPerDelivery, p.sat.serverCpuMicrosPerDelivery)}`);
      }
      if (h.single && p.single)
        parts.push(
          `1 in flight: deliveries/s ${x(h.single.deliveriesPerSec, p.single.deliveriesPerSec)}, µs/delivery ${x(h.single.serverCpuMicrosPerDelivery, p.single.serverCpuMicrosPerDelivery)}`,
        );
      if (h.rate && p.rate)
        parts.push(
          `p99 at ${rate}/s ${fmtMs(h.rate.latencyMs.p99 * 1000)} vs ${fmtMs(p.rate.latencyMs.p99 * 1000)} ms`,
        );
      if (parts.length > 0) lines.push(`  N=${n} hubcast/${peer}: ${parts.join('; ')}`);
    }
  }
  if (lines.length > 0) console.log(`ratios (${transport}; hubcast ÷ peer, same run):\n${lines.join('\n')}`);
}

let idleBefore: number[] = [];

async function main(): Promise<void> {
  if (pinning) pin(process.pid, CLIENT_CPU);
  if (serverNames.includes('nchan')) ensureNchan();
  warnIfDistStale();
  console.log(
    `fanout ${transport}: N=${Ns.join(',')} phases=${phases.join(',')} window=${window} lag≤${lagBound} rate=${rate}/s×${seconds}s ` +
      `payload≈${payloadBytes} B; ${pinning ? `server pinned to CPU ${SERVER_CPU}, clients to CPU ${CLIENT_CPU}` : 'no pinning'}; node ${process.version}`,
  );
  idleBefore = await backgroundLoad();
  console.log(
    `background load before the run (CPU busy %, per core): ${idleBefore.join('/')}${idleBefore.some((x) => x > 15) ? '  — machine not idle: figures are skewed' : ''}`,
  );
  console.log(row(COLUMNS));
  const all: PhaseResult[] = [];
  const memory: Array<{
    server: string;
    subscribers: number;
    baseKiB: number;
    connectedKiB: number;
    perConnKiB: number;
  }> = [];
  let phaseBase = 0;
  for (const n of Ns) {
    for (const name of serverNames) {
      if (!SERVERS[name].transports.includes(transport)) continue;
      const { results, rss } = await benchN(name, n, (phaseBase += 10));
      all.push(...results);
      memory.push({ server: name, subscribers: n, ...rss });
    }
  }
  for (const m of memory) {
    console.log(
      `${m.server}: server RSS with ${m.subscribers} ${transport} subscribers: ${(m.connectedKiB / 1024).toFixed(1)} MiB (${m.perConnKiB.toFixed(1)} KiB per connection over the idle baseline)`,
    );
  }
  // hubcast must lose nothing; a peer's losses show in its row (LOSS/DUP!) without failing the run.
  const bad = all.filter((r) => r.server === 'hubcast' && (r.lost > 0 || r.duplicated > 0));
  const out =
    opts.out ??
    join(ROOT, 'bench/results', `fanout-${transport}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        bench: `fanout-${transport}`,
        date: new Date().toISOString(),
        node: process.version,
        pinned: pinning,
        smoke,
        results: all,
        memory,
        backgroundLoadPct: idleBefore,
      },
      null,
      2,
    ),
  );
  const sat = all.filter((r) => r.phase === 'saturate');
  printRatios(all);
  if (sat.length > 0) {
    const label = (r: PhaseResult) => `${r.server} ${r.transport} N=${r.subscribers}`;
    const svg = `${barChart(
      `fan-out ${transport}: deliveries/s at saturation (window ${window})`,
      '/s',
      sat.map((r) => ({ label: label(r), value: r.deliveriesPerSec, note: r.harnessBound ? '(harness-bound)' : '' })),
    )}`;
    writeFileSync(out.replace(/\.json$/, '-throughput.svg'), svg);
    writeFileSync(
      out.replace(/\.json$/, '-cpu.svg'),
      barChart(
        `fan-out ${transport}: server CPU per delivery (lower is better)`,
        'µs',
        sat.map((r) => ({ label: label(r), value: r.serverCpuMicrosPerDelivery })),
      ),
    );
  }
  console.log(`results: ${out}`);
  console.log(`lost=${all.reduce((s, r) => s + r.lost, 0)} duplicated=${all.reduce((s, r) => s + r.duplicated, 0)}`);
  if (bad.length > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`[bench] failed: ${err instanceof Error ? err.stack : err}`);
  process.exit(1);
});
