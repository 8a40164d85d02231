/**
 * Fan-out benchmark: one publisher, N subscribers on one channel, M events of
 * ~200 bytes each carrying its send time. The server runs in its own process
 * (CPU 0), subscribers in forked worker processes (CPU 1, at most
 * --per-worker sockets each: the open-files limit is per process), the
 * publisher here (CPU 1).
 *
 * Two phases per N:
 *   saturate  --window publishes in flight (acknowledged by the server), and
 *             never more than --lag events ahead of the slowest subscriber:
 *             deliveries/s at saturation with bounded buffers;
 *   rate      --rate events/s for --seconds: latency at a fixed load.
 *
 * Prints a table and writes bench/results/fanout-<transport>-<time>.json.
 *
 *   npm run bench:fanout -- [--n 1000,10000] [--events M] [--rate R] [--seconds S]
 *                           [--transport ws|sse] [--window 8] [--lag 64] [--smoke]
 * Env: BENCH_N, BENCH_EVENTS, BENCH_RATE, BENCH_TRANSPORT, BENCH_SERVER_NODE_ARGS.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { cpuMicros, rssKiB, nowMicros, pin, canPin, Histogram, fmtMs, fmtInt, cpuTimes, cpuBusyPct, backgroundLoad } from './lib/measure.js';
import { startServer, type ServerProc } from './lib/server-proc.js';
import type { ParentMessage, WorkerMessage, Transport } from './fanout-client.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
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
const phases = opts.phases!.split(',') as Array<'saturate' | 'rate'>;
const pinning = !opts['no-pin'] && canPin();
const CHANNEL = 'bench:fanout';

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
  const child = fork(join(ROOT, 'bench/fanout-client.ts'), [], {
    execArgv: ['--import', 'tsx'],
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

function request<T extends WorkerMessage['type']>(w: Worker, msg: ParentMessage, reply: T): Promise<Extract<WorkerMessage, { type: T }>> {
  return new Promise((resolve) => {
    w.on(reply, resolve);
    w.child.send(msg);
  });
}

/** The publisher: a WebSocket client sending `channel_message` with a `ref`, counting acknowledgements. */
async function openPublisher(port: number): Promise<{ ws: WebSocket; onAck(fn: (delivered: number) => void): void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/realtime/ws`);
  let ack: (d: number) => void = () => undefined;
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { type: string; ok?: boolean; data?: { delivered: number }; message?: string };
    if (msg.type === 'reply') ack(msg.data?.delivered ?? 0);
    else if (msg.type === 'error') throw new Error(`publish refused: ${msg.message}`);
  });
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  return { ws, onAck: (fn) => (ack = fn) };
}

const PAD = 'x'.repeat(4096);
function eventFrame(seq: number, pad: string): string {
  return `{"type":"channel_message","channel":"${CHANNEL}","message":{"s":${seq},"t":${nowMicros()},"p":"${pad}"},"ref":${seq}}`;
}

interface PhaseResult {
  server: string;
  transport: Transport;
  subscribers: number;
  phase: 'saturate' | 'rate';
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
  harnessBound: boolean;
  /** Busy % of each CPU over the phase (whole machine, softirq included). */
  coreBusyPct: number[];
}

async function runPhase(
  server: ServerProc,
  workers: Worker[],
  n: number,
  phase: 'saturate' | 'rate',
  phaseNo: number,
): Promise<PhaseResult> {
  for (const w of workers) {
    w.phase = phaseNo;
    w.min = 0;
    w.child.send({ cmd: 'reset', phase: phaseNo } satisfies ParentMessage);
  }
  const events = phase === 'saturate' ? eventsFor(n) : Math.max(1, Math.round(rate * seconds));
  const pub = await openPublisher(server.port);
  // Frame ≈ payloadBytes on the wire: envelope and channel_message wrapper are ~160 bytes.
  const pad = PAD.slice(0, Math.max(0, payloadBytes - 160));
  const minAll = () => {
    let m = Infinity;
    for (const w of workers) if (w.min < m) m = w.min;
    return m;
  };

  const cpuServer0 = cpuMicros(server.pid);
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
      pub.ws.send(eventFrame(seq, pad));
      seq++;
      inflight++;
    };
    const pump = () => {
      if (phase !== 'saturate') return;
      while (seq < events && inflight < window && seq - minAll() < lagBound) send();
    };
    pub.onAck((delivered) => {
      inflight--;
      acked++;
      if (deliveredPerPublish < 0) deliveredPerPublish = delivered;
      pump();
    });
    let ticker: NodeJS.Timeout | null = null;
    if (phase === 'rate') {
      ticker = setInterval(() => {
        const due = Math.min(events, Math.floor(((nowMicros() - t0) * rate) / 1e6) + 1);
        while (seq < due) send();
        if (seq >= events && ticker) clearInterval(ticker);
      }, Math.max(1, Math.min(10, Math.floor(1000 / rate))));
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
    pub.ws.once('close', () => rejectDone(new Error('publisher connection closed')));
    pump();
  });
  const t1 = nowMicros();
  const coreBusy = cpuBusyPct(sys0, cpuTimes());
  const cpuServer1 = cpuMicros(server.pid);
  const cpuClients1 = workers.reduce((s, w) => s + cpuMicros(w.child.pid!), 0) + cpuMicros(process.pid);
  pub.ws.removeAllListeners('close');
  pub.ws.close();

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
    window: phase === 'saturate' ? window : null,
    deliveries: received,
    expected: events * n,
    seconds: wallSec,
    deliveriesPerSec: received / wallSec,
    latencyMs: {
      p50: hist.quantile(0.5) / 1000,
      p99: hist.quantile(0.99) / 1000,
      p999: hist.quantile(0.999) / 1000,
      max: hist.max / 1000,
      mean: hist.count ? hist.sum / hist.count / 1000 : NaN,
    },
    lost,
    duplicated,
    closedByServer: closed,
    serverCpuSec: serverCpu,
    serverCpuPct: serverPct,
    clientCpuSec: clientCpu,
    clientCpuPct: clientPct,
    serverCpuMicrosPerDelivery: received > 0 ? (serverCpu * 1e6) / received : NaN,
    // The client side (all on one CPU when pinned) was the limit, not the server.
    harnessBound: clientPct >= 90 && serverPct < 90,
    coreBusyPct: coreBusy.map((x) => Math.round(x)),
  };
}

async function benchN(n: number, phaseBase: number): Promise<{ results: PhaseResult[]; rss: { baseKiB: number; connectedKiB: number; perConnKiB: number } }> {
  const server = await startServer({
    name: 'hubcast',
    args: ['--import', 'tsx', join(ROOT, 'bench/servers/hubcast.ts')],
    nodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? '--max-semi-space-size=1').split(' ').filter(Boolean),
    env: { REALTIME_MAX_CONNECTIONS: String(Math.max(20_000, n + 100)), LOG_LEVEL: 'warn' },
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
        return request(w, { cmd: 'connect', host: '127.0.0.1', port: server.port, transport, channel: CHANNEL, count }, 'ready');
      }),
    );
    const connected = readies.reduce((s, r) => s + r.connected, 0);
    const failed = readies.reduce((s, r) => s + r.failed, 0);
    if (failed > 0 || connected !== n) {
      throw new Error(`only ${connected}/${n} subscribers connected: ${readies.find((r) => r.error)?.error ?? ''}`);
    }
    process.stderr.write(`[bench] ${transport} N=${n}: ${connected} subscribers in ${((Date.now() - t) / 1000).toFixed(1)} s over ${k} worker(s)\n`);
    const connectedKiB = rssKiB(server.pid).rss;
    const results: PhaseResult[] = [];
    for (const [i, phase] of phases.entries()) {
      const r = await runPhase(server, workers, n, phase, phaseBase + i + 1);
      results.push(r);
      printRow(r);
    }
    return { results, rss: { baseKiB: base, connectedKiB, perConnKiB: (connectedKiB - base) / n } };
  } finally {
    for (const w of workers) {
      w.child.send({ cmd: 'exit' } satisfies ParentMessage);
    }
    await Promise.all(workers.map((w) => new Promise((r) => (w.child.exitCode !== null ? r(null) : w.child.once('exit', r)))));
    await server.stop();
  }
}

const COLUMNS = ['server', 'tr', 'N', 'phase', 'events', 'deliveries/s', 'p50 ms', 'p99 ms', 'p999 ms', 'max ms', 'lost', 'dup', 'srv CPU', 'cli CPU', 'cores', 'µs/deliv', 'note'];
const WIDTHS = [8, 3, 6, 8, 7, 12, 7, 7, 8, 7, 5, 4, 7, 7, 9, 8, 0];
function row(cells: string[]): string {
  return cells.map((c, i) => (WIDTHS[i] ? c.padStart(WIDTHS[i]) : c)).join('  ');
}
function printRow(r: PhaseResult): void {
  const label = r.phase === 'rate' ? `rate${r.rate}` : `sat w${r.window}`;
  const note = [r.harnessBound ? 'harness-bound' : '', r.lost || r.duplicated ? 'LOSS/DUP!' : '', r.closedByServer ? `${r.closedByServer} closed` : ''].filter(Boolean).join(' ');
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
      r.serverCpuMicrosPerDelivery.toFixed(2),
      note,
    ]),
  );
}

function distIsStale(): boolean {
  try {
    const built = statSync(join(ROOT, 'dist/server.js')).mtimeMs;
    const newest = (dir: string): number =>
      readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
        const p = join(dir, e.name);
        return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
      }, 0);
    return newest(join(ROOT, 'src')) > built;
  } catch {
    return true;
  }
}

let idleBefore: number[] = [];

async function main(): Promise<void> {
  if (pinning) pin(process.pid, CLIENT_CPU);
  if (distIsStale()) process.stderr.write('[bench] warning: src/ is newer than dist/ — run `npm run build` to measure the current code\n');
  console.log(
    `fanout ${transport}: N=${Ns.join(',')} phases=${phases.join(',')} window=${window} lag≤${lagBound} rate=${rate}/s×${seconds}s ` +
      `payload≈${payloadBytes} B; ${pinning ? `server pinned to CPU ${SERVER_CPU}, clients to CPU ${CLIENT_CPU}` : 'no pinning'}; node ${process.version}`,
  );
  idleBefore = await backgroundLoad();
  console.log(`background load before the run (CPU busy %, per core): ${idleBefore.join('/')}${idleBefore.some((x) => x > 15) ? '  — machine not idle: figures are skewed' : ''}`);
  console.log(row(COLUMNS));
  const all: PhaseResult[] = [];
  const memory: Array<{ subscribers: number; baseKiB: number; connectedKiB: number; perConnKiB: number }> = [];
  for (const [i, n] of Ns.entries()) {
    const { results, rss } = await benchN(n, i * 10);
    all.push(...results);
    memory.push({ subscribers: n, ...rss });
  }
  for (const m of memory) {
    console.log(`server RSS with ${m.subscribers} ${transport} subscribers: ${(m.connectedKiB / 1024).toFixed(1)} MiB (${m.perConnKiB.toFixed(1)} KiB per connection over the idle baseline)`);
  }
  const bad = all.filter((r) => r.lost > 0 || r.duplicated > 0);
  const out =
    opts.out ??
    join(ROOT, 'bench/results', `fanout-${transport}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify({ bench: `fanout-${transport}`, date: new Date().toISOString(), node: process.version, pinned: pinning, smoke, results: all, memory, backgroundLoadPct: idleBefore }, null, 2),
  );
  console.log(`results: ${out}`);
  console.log(`lost=${all.reduce((s, r) => s + r.lost, 0)} duplicated=${all.reduce((s, r) => s + r.duplicated, 0)}`);
  if (bad.length > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`[bench] failed: ${err instanceof Error ? err.stack : err}`);
  process.exit(1);
});
