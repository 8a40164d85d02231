/**
 * One workload over every transport of one gateway: N subscribers on one
 * channel, a fixed rate of ~200-byte events for S seconds, run once per
 * transport — WebSocket, SSE, raw TCP, long polling, and short polling (one
 * `timeout=0` request per client per second). Prints, per transport: delivery
 * latency p50/p99 (publish request sent → event parsed by the client; both in
 * this process, so one clock), server CPU µs per delivery, bytes on the
 * clients' sockets per delivered event (both directions: requests, response
 * heads, framing; TCP/IP headers not counted), requests per second for the
 * polling ones, and the server's resident memory per connected client
 * (`--mem-clients` idle clients of that transport, a long poll held, a short
 * poll between polls). Each transport gets a fresh gateway process, so none
 * inherits another's heap. Writes the rows as JSON and a chart as SVG to
 * bench/results/ (`--svg` for another path for the chart).
 *
 * The server is the core gateway (bench/servers/hubcast.ts, from dist/: run
 * `npm run build` first) in its own process, run as `hubcast gateway` runs
 * (plain JavaScript, bin/hubcast.js's environment and node flags, or
 * `BENCH_SERVER_NODE_ARGS` for the flags), pinned to CPU 0 when taskset is there; the
 * clients and the publisher run here, on CPU 1 (`--no-pin`: no pinning).
 *
 * Then (--held H, 0 = skip) H long polls are held with nothing to send: the
 * server's resident memory per held poll, and how long after one publish the
 * last of them is answered.
 *
 *   npm run bench:transports -- [--n 200] [--rate 20] [--seconds 5] [--transports ws,sse,tcp,long-poll,short-poll] [--held 5000] [--mem-clients 1000] [--svg path] [--no-pin]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request, Agent, type IncomingMessage } from 'node:http';
import { dirname, join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { ROOT, compiledScript, freePort, waitUntil } from './lib/harness.js';
import { Histogram, canPin, cpuMicros, nowMicros, fmtInt, pin, rssKiB } from './lib/measure.js';
import { PRODUCT_LAUNCHER, benchServerNodeArgs, startServer, type ServerProc } from './lib/server-proc.js';
import { barChart, stackCharts } from './lib/svg.js';

const { values: opts } = parseArgs({
  options: {
    n: { type: 'string', default: '200' },
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '5' },
    transports: { type: 'string', default: 'ws,sse,tcp,long-poll,short-poll' },
    held: { type: 'string', default: '5000' },
    'mem-clients': { type: 'string', default: '1000' },
    svg: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
  },
});
const PINNING = !opts['no-pin'] && canPin();
const N = Number(opts.n);
const RATE = Number(opts.rate);
const SECONDS = Number(opts.seconds);
const MEM_CLIENTS = Number(opts['mem-clients']);
type Kind = 'ws' | 'sse' | 'tcp' | 'long-poll' | 'short-poll';
const kinds = opts.transports!.split(',') as Kind[];
for (const k of kinds)
  if (!['ws', 'sse', 'tcp', 'long-poll', 'short-poll'].includes(k)) throw new Error(`--transports: unknown ${k}`);
const PAD = 'x'.repeat(150);

/** The clients' own sockets: what crossed them both ways, headers and framing included. */
class Wire {
  private readonly sockets = new Set<Socket>();
  add(socket: Socket): void {
    this.sockets.add(socket);
  }
  /** Bytes read and written on every socket seen so far (closed ones keep their counts). */
  total(): number {
    let n = 0;
    for (const s of this.sockets) n += s.bytesRead + s.bytesWritten;
    return n;
  }
}

/** One set of clients: their HTTP agent (destroyed with them), sockets and what they received. */
interface Run {
  agent: Agent;
  wire: Wire;
  latency: Histogram;
  delivered: number;
  requests: number;
  stop: boolean;
  closers: Array<() => void>;
}

function newRun(): Run {
  return {
    agent: new Agent({ keepAlive: true, maxSockets: Infinity }),
    wire: new Wire(),
    latency: new Histogram(),
    delivered: 0,
    requests: 0,
    stop: false,
    closers: [],
  };
}

function closeRun(run: Run): void {
  run.stop = true;
  for (const close of run.closers) close();
  run.agent.destroy();
}

function record(run: Run, data: { t: number }): void {
  run.latency.record(nowMicros() - data.t);
  run.delivered++;
}

/** The publisher's and the bench's own requests: not on any client's wire. */
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

function get(port: number, path: string, run: Run | null = null): Promise<{ res: IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: run?.agent ?? agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ res, body }));
      res.on('error', reject);
    });
    if (run !== null) req.on('socket', (s: Socket) => run.wire.add(s));
    req.on('error', reject);
    req.end();
  });
}

async function connectClients(
  kind: Kind,
  count: number,
  port: number,
  tcpPort: number,
  channel: string,
  run: Run,
): Promise<void> {
  const ready: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    if (kind === 'ws') {
      ready.push(
        new Promise((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/realtime/ws`);
          ws.on('upgrade', (res: IncomingMessage) => run.wire.add(res.socket as Socket));
          ws.on('message', (raw: Buffer) => {
            const f = JSON.parse(String(raw));
            if (f.type === 'event') record(run, f.data);
            else if (f.type === 'reply') resolve();
          });
          ws.on('open', () =>
            ws.send(JSON.stringify({ type: 'command', command: 'join_channel', data: { channel }, ref: 1 })),
          );
          ws.on('error', reject);
          run.closers.push(() => ws.terminate());
        }),
      );
    } else if (kind === 'tcp') {
      ready.push(
        new Promise((resolve, reject) => {
          const s: Socket = connect(tcpPort, '127.0.0.1');
          run.wire.add(s);
          let buf = '';
          s.setEncoding('utf8');
          s.on('data', (c: string) => {
            buf += c;
            let nl: number;
            while ((nl = buf.indexOf('\n')) !== -1) {
              const f = JSON.parse(buf.slice(0, nl));
              buf = buf.slice(nl + 1);
              if (f.type === 'event') record(run, f.data);
              else if (f.type === 'reply') resolve();
            }
          });
          s.on('connect', () =>
            s.write(`${JSON.stringify({ type: 'command', command: 'join_channel', data: { channel }, ref: 1 })}\n`),
          );
          s.on('error', reject);
          run.closers.push(() => s.destroy());
        }),
      );
    } else if (kind === 'sse') {
      ready.push(
        new Promise((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: `/realtime/events?channels=${channel}` }, (res) => {
            res.setEncoding('utf8');
            let buf = '';
            res.on('data', (c: string) => {
              buf += c;
              let end: number;
              while ((end = buf.indexOf('\n\n')) !== -1) {
                const block = buf.slice(0, end);
                buf = buf.slice(end + 2);
                const data = /^data: (.*)$/m.exec(block)?.[1];
                if (/^event: system$/m.test(block)) resolve();
                else if (data !== undefined) record(run, JSON.parse(data));
              }
            });
          });
          req.on('socket', (s: Socket) => run.wire.add(s));
          req.on('error', reject);
          req.end();
          run.closers.push(() => req.destroy());
        }),
      );
    } else {
      const short = kind === 'short-poll';
      ready.push(
        (async () => {
          const first = await get(port, `/realtime/poll?channels=${channel}&timeout=0`, run);
          let since = JSON.parse(first.body).last_id as string;
          void (async () => {
            let next = Date.now();
            while (!run.stop) {
              if (short) {
                next += 1000;
                await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
              }
              const r = await get(
                port,
                `/realtime/poll?channels=${channel}&since=${since}&timeout=${short ? 0 : 25}`,
                run,
              );
              run.requests++;
              const answer = JSON.parse(r.body);
              for (const e of answer.events) record(run, e.data);
              since = answer.last_id;
            }
          })().catch(() => undefined);
        })(),
      );
    }
    // Connect in small batches: a burst of N handshakes is not what this measures.
    if (i % 50 === 49) await Promise.all(ready.slice(-50));
  }
  await Promise.all(ready);
}

/** `POST /realtime/send` with `body` on the bench's own agent; resolves once answered. */
function postSend(port: number, body: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/realtime/send',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function publish(port: number, channel: string, run: Run): Promise<number> {
  const total = RATE * SECONDS;
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = JSON.stringify({ channel, event: 'tick', data: { t: nowMicros(), pad: PAD } });
    await postSend(port, body);
  }
  void run;
  return total;
}

async function startGateway(tcpPort: number): Promise<ServerProc> {
  return startServer({
    name: 'hubcast',
    args: [compiledScript('bench/servers/hubcast.ts')],
    nodeArgs: benchServerNodeArgs(),
    env: { ...PRODUCT_LAUNCHER.env, TCP_PORT: String(tcpPort) },
    cpu: PINNING ? 0 : undefined,
  });
}

/** Server RSS per connected client: `count` idle clients of `kind` connected, then closed. */
async function memoryPerClient(kind: Kind, count: number, server: ServerProc, tcpPort: number): Promise<number> {
  const run = newRun();
  const before = rssKiB(server.pid).rss;
  await connectClients(kind, count, server.port, tcpPort, `bench:idle-${kind}`, run);
  await new Promise((r) => setTimeout(r, 1000));
  const after = rssKiB(server.pid).rss;
  closeRun(run);
  await new Promise((r) => setTimeout(r, 500));
  return (after - before) / count;
}

interface Row {
  transport: Kind;
  deliveries: number;
  expected: number;
  p50_ms: number;
  p99_ms: number;
  cpu_us_per_delivery: number;
  wire_bytes_per_event: number;
  requests_per_s: number;
  rss_kib_per_client: number;
}

async function measure(kind: Kind): Promise<Row> {
  const tcpPort = await freePort();
  const server = await startGateway(tcpPort);
  try {
    const kibPerClient = MEM_CLIENTS > 0 ? await memoryPerClient(kind, MEM_CLIENTS, server, tcpPort) : Number.NaN;
    const channel = `bench:${kind}`;
    const run = newRun();
    await connectClients(kind, N, server.port, tcpPort, channel, run);
    // Settle, then measure the publishing window only.
    await new Promise((r) => setTimeout(r, 500));
    const wire0 = run.wire.total();
    run.requests = 0;
    const cpu0 = cpuMicros(server.pid);
    const sent = await publish(server.port, channel, run);
    const expected = sent * N;
    await waitUntil(
      () => run.delivered >= expected,
      kind === 'short-poll' ? 5000 : 10_000,
      `${kind}: every delivery`,
    ).catch(() => undefined);
    const cpu = cpuMicros(server.pid) - cpu0;
    const wire = run.wire.total() - wire0;
    closeRun(run);
    const s = run.latency.summaryMs();
    return {
      transport: kind,
      deliveries: run.delivered,
      expected,
      p50_ms: s.p50,
      p99_ms: s.p99,
      cpu_us_per_delivery: cpu / Math.max(1, run.delivered),
      wire_bytes_per_event: wire / Math.max(1, run.delivered),
      requests_per_s: run.requests / SECONDS,
      rss_kib_per_client: kibPerClient,
    };
  } finally {
    await server.stop();
  }
}

function printRow(r: Row): void {
  const cells = [
    r.transport.padEnd(12),
    `${fmtInt(r.deliveries)}/${fmtInt(r.expected)}`.padStart(13),
    r.p50_ms.toFixed(1).padStart(8),
    r.p99_ms.toFixed(1).padStart(8),
    r.cpu_us_per_delivery.toFixed(1).padStart(17),
    r.wire_bytes_per_event.toFixed(0).padStart(16),
    (r.transport.endsWith('poll') ? r.requests_per_s.toFixed(0) : '-').padStart(12),
    (Number.isNaN(r.rss_kib_per_client) ? '-' : r.rss_kib_per_client.toFixed(1)).padStart(16),
  ];
  console.log(cells.join(' '));
}

function chart(rows: Row[]): string {
  const panel = (title: string, unit: string, value: (r: Row) => number) =>
    barChart(
      title,
      unit,
      rows.map((r) => ({ label: `hubcast ${r.transport}`, value: value(r) })),
    );
  return stackCharts('hubcast transports compared: latency, CPU, bytes and memory per client', [
    panel(`delivery latency p50 (${N} subscribers, ${RATE} events/s)`, 'ms', (r) => r.p50_ms),
    panel('delivery latency p99', 'ms', (r) => r.p99_ms),
    panel('server CPU per delivery', 'µs', (r) => r.cpu_us_per_delivery),
    panel('bytes on the wire per delivered event (both directions)', 'B', (r) => r.wire_bytes_per_event),
    panel(`server memory per connected client (${MEM_CLIENTS} idle clients)`, 'KiB', (r) => r.rss_kib_per_client),
  ]);
}

async function main(): Promise<void> {
  if (PINNING) pin(process.pid, 1);
  console.log(
    `transports: N=${N} subscribers, ${RATE} events/s × ${SECONDS} s, ~200-byte events, one transport at a time, ` +
      `a fresh gateway for each (node ${benchServerNodeArgs().join(' ')}${PINNING ? ', pinned to CPU 0, clients to CPU 1' : ''})\n`,
  );
  console.log(
    'transport      deliveries   p50 ms   p99 ms   µs CPU/delivery   wire bytes/event   requests/s   KiB RSS/client',
  );
  const rows: Row[] = [];
  const extra: unknown[] = [];
  try {
    for (const kind of kinds) {
      const row = await measure(kind);
      rows.push(row);
      printRow(row);
    }
    const held = Number(opts.held);
    if (held > 0) {
      const tcpPort = await freePort();
      const server = await startGateway(tcpPort);
      try {
        extra.push(await heldPolls(server.port, server.pid, held));
      } finally {
        await server.stop();
      }
    }
  } finally {
    agent.destroy();
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = join(ROOT, 'bench/results', `transports-${stamp}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        bench: 'transports',
        date: new Date().toISOString(),
        node: process.version,
        n: N,
        rate: RATE,
        seconds: SECONDS,
        memClients: MEM_CLIENTS,
        pinned: PINNING,
        rows,
        held: extra,
      },
      null,
      2,
    ),
  );
  const svgPath = opts.svg ?? out.replace(/\.json$/, '.svg');
  mkdirSync(dirname(svgPath), { recursive: true });
  writeFileSync(svgPath, chart(rows));
  console.log(`\n${JSON.stringify([...rows, ...extra])}\nresults: ${out}\nchart: ${svgPath}`);
}

/** `count` polls held with nothing to send: server RSS per held poll, and release time after one publish. */
async function heldPolls(port: number, pid: number, count: number): Promise<Record<string, number>> {
  const channel = 'bench:held';
  const run = newRun();
  const first = await get(port, `/realtime/poll?channels=${channel}&timeout=0`, run);
  const since = JSON.parse(first.body).last_id as string;
  const before = rssKiB(pid).rss;
  let answered = 0;
  let lastAt = 0;
  const polls: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i++) {
    polls.push(
      get(port, `/realtime/poll?channels=${channel}&since=${since}&timeout=30`, run).then(() => {
        answered++;
        lastAt = nowMicros();
      }),
    );
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 20));
  }
  await waitUntil(
    async () => {
      const stats = await get(port, '/realtime/stats');
      return JSON.parse(stats.body).long_poll_held >= count;
    },
    60_000,
    `${count} held polls`,
  );
  await new Promise((r) => setTimeout(r, 500));
  const after = rssKiB(pid).rss;
  const publishedAt = nowMicros();
  await postSend(port, JSON.stringify({ channel, event: 'tick', data: { t: publishedAt } }));
  await Promise.all(polls);
  const serverMs = JSON.parse((await get(port, '/realtime/stats')).body).long_poll_last_release_ms as number;
  const perPollKiB = (after - before) / count;
  const releaseMs = (lastAt - publishedAt) / 1000;
  console.log(
    `\n${fmtInt(count)} held long polls: server RSS ${(perPollKiB).toFixed(1)} KiB per held poll (${fmtInt(before)} → ${fmtInt(after)} KiB); one publish answered all ${fmtInt(answered)} in ${releaseMs.toFixed(0)} ms (last answer parsed by the client; the server's release pass took ${serverMs} ms)`,
  );
  closeRun(run);
  return { held: count, rss_kib_per_held_poll: perPollKiB, release_all_ms: releaseMs, server_release_ms: serverMs };
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
