/**
 * Memory per idle connection: the server's RSS with N idle WS (or SSE)
 * subscribers of one channel, minus its RSS before any connected, over N.
 * Clients are spread over worker processes (≤ --per-worker sockets each: the
 * open-files limit is per process).
 *
 *   npm run bench:connections -- [--n 10000,19000] [--transport ws,sse] [--servers hubcast,naive-ws,socketio,uws,nchan] [--smoke]
 *
 * Nchan's figure is its worker's RSS (the master only supervises; shared memory
 * pages the worker touched count in it).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { rssKiB, pin, canPin } from './lib/measure.js';
import { startServer } from './lib/server-proc.js';
import { ROOT, compiledScript } from './lib/harness.js';
import { ensureNchan, ensureUws } from './lib/peers.js';
import type { ParentMessage, WorkerMessage, Transport } from './fanout-client.js';

const { values: opts } = parseArgs({
  options: {
    n: { type: 'string' },
    transport: { type: 'string', default: 'ws,sse' },
    servers: { type: 'string', default: 'hubcast' },
    'per-worker': { type: 'string', default: '5000' },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const Ns = (opts.n ?? (opts.smoke ? '500' : '10000,19000')).split(',').map(Number);
const transports = opts.transport!.split(',') as Transport[];
const perWorker = Number(opts['per-worker']);
const pinning = canPin();

const SERVERS: Record<
  string,
  { script: string; transports: Transport[]; nodeArgs?: string[]; socketio?: boolean; nchan?: boolean }
> = {
  hubcast: { script: 'bench/servers/hubcast.ts', transports: ['ws', 'sse'], nodeArgs: ['--max-semi-space-size=1'] },
  'naive-ws': { script: 'bench/servers/naive-ws.ts', transports: ['ws'] },
  socketio: { script: 'bench/servers/socketio.ts', transports: ['ws'], socketio: true },
  uws: { script: 'bench/servers/uws.ts', transports: ['ws'] },
  nchan: { script: 'bench/servers/nchan.ts', transports: ['ws', 'sse'], nchan: true },
};

async function measure(
  name: string,
  transport: Transport,
  n: number,
): Promise<{
  server: string;
  transport: Transport;
  connections: number;
  baseKiB: number;
  rssKiB: number;
  perConnKiB: number;
}> {
  const spec = SERVERS[name];
  const uwsPath = name === 'uws' ? ensureUws() : '';
  if (spec.nchan) ensureNchan();
  const server = await startServer({
    name,
    args: [compiledScript(spec.script)],
    nodeArgs: spec.nodeArgs,
    env: { REALTIME_MAX_CONNECTIONS: '20000', LOG_LEVEL: 'warn', UWS_PATH: uwsPath },
    cpu: pinning ? 0 : undefined,
  });
  const workers: ChildProcess[] = [];
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const base = rssKiB(server.pid).rss;
    const k = Math.max(1, Math.ceil(n / perWorker));
    const readies = await Promise.all(
      Array.from({ length: k }, (_, i) => {
        const child = fork(compiledScript('bench/fanout-client.ts'), [], {
          execArgv: [],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        if (pinning) pin(child.pid!, 1);
        workers.push(child);
        const count = Math.floor(n / k) + (i < n % k ? 1 : 0);
        return new Promise<Extract<WorkerMessage, { type: 'ready' }>>((res, rej) => {
          // A server that drops connections (Nchan past its worker_connections) never gets them all ready.
          const timer = setTimeout(
            () => rej(new Error(`${name}: ${count} ${transport} subscribers not all ready within 60 s`)),
            60_000,
          );
          child.on('message', (m: WorkerMessage) => {
            if (m.type !== 'ready') return;
            clearTimeout(timer);
            res(m);
          });
          child.send({
            cmd: 'connect',
            host: '127.0.0.1',
            port: server.port,
            transport,
            channel: 'bench:idle',
            count,
            join: spec.socketio ? 'socketio' : spec.nchan ? 'upgrade' : 'hubcast',
            wsPath: spec.socketio
              ? '/socket.io/?EIO=4&transport=websocket'
              : spec.nchan
                ? '/sub/bench_idle'
                : undefined,
            ssePath: spec.nchan ? '/sub/bench_idle' : undefined,
          } satisfies ParentMessage);
        });
      }),
    );
    const connected = readies.reduce((s, r) => s + r.connected, 0);
    if (connected !== n)
      throw new Error(`${name}: only ${connected}/${n} connected: ${readies.find((r) => r.error)?.error ?? ''}`);
    // Let the server settle (GC after the connection burst) before reading RSS.
    await new Promise((r) => setTimeout(r, 3000));
    const rss = rssKiB(server.pid).rss;
    return { server: name, transport, connections: n, baseKiB: base, rssKiB: rss, perConnKiB: (rss - base) / n };
  } finally {
    for (const w of workers) w.send({ cmd: 'exit' } satisfies ParentMessage);
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
    await server.stop();
  }
}

const results = [];
const failures: string[] = [];
console.log('  server  tr  connections   base MiB    RSS MiB  KiB/conn');
for (const transport of transports) {
  for (const name of opts.servers!.split(',')) {
    if (!SERVERS[name]?.transports.includes(transport)) continue;
    for (const n of Ns) {
      let r: Awaited<ReturnType<typeof measure>>;
      try {
        r = await measure(name, transport, n);
      } catch (err) {
        failures.push(`${name} ${transport} ${n}: ${(err as Error).message}`);
        console.log(
          `${name.padStart(8)}  ${transport.padStart(3)}  ${String(n).padStart(11)}  FAILED: ${(err as Error).message}`,
        );
        continue;
      }
      results.push(r);
      console.log(
        `${name.padStart(8)}  ${transport.padStart(3)}  ${String(n).padStart(11)}  ${(r.baseKiB / 1024).toFixed(1).padStart(9)}  ${(r.rssKiB / 1024).toFixed(1).padStart(9)}  ${r.perConnKiB.toFixed(2).padStart(8)}`,
      );
    }
  }
}
const out =
  opts.out ?? join(ROOT, 'bench/results', `connections-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    { bench: 'connections', date: new Date().toISOString(), node: process.version, results, failures },
    null,
    2,
  ),
);
console.log(`results: ${out}`);
// A peer that cannot hold N (Nchan at 19k: its worker runs out of connections) is a figure, not a failure of the run.
if (failures.some((f) => f.startsWith('hubcast '))) process.exitCode = 1;
