/**
 * Photo benchmark (issue 4): requests/s, latency and server CPU per request of
 * `GET /api/products/:id/photo` when the bytes come from Redis (HIT), when they
 * do not (MISS: a PostgreSQL read and a Redis SET each), and for a conditional
 * GET answered 304 from metadata — against nginx serving the same files.
 *
 * - Server: `node --max-semi-space-size=1 dist/cli.js gateway` (the catalog
 *   seeds 60 products with photos into a fresh PostgreSQL database; in-process
 *   broker), pinned to CPU 0, with a redis-server of the bench's own as its
 *   cache (REDIS_URL). PostgreSQL and Redis are not pinned; their CPU per
 *   request is printed too.
 * - Load: autocannon in a forked process (bench/photo-client.ts) on CPU 1,
 *   --connections keep-alive connections, --seconds per phase, product ids
 *   cycling 1..60 in order over all requests; X-Cache counted per response.
 * - Phases (hubcast): `hit` (every photo fetched once before: all cached);
 *   `miss` (photo keys deleted, Redis `maxmemory` set to what it uses plus
 *   room for ~10 photos, volatile-lru: cycling 60 photos through an LRU of 10
 *   evicts each before it comes round again, so nearly every request misses,
 *   without changing the server); `revalidate` (If-None-Match with each
 *   photo's ETag: 304 from metadata).
 * - Peer: nginx, one worker on CPU 0, the same 60 photos as static files
 *   (bench/photo-nginx.ts): phases `get` and `revalidate`.
 *
 * Prints a table and ratios; writes bench/results/photo-<time>.json and two
 * SVG bar charts beside it. Exits 1 when a response had an unexpected status
 * (anything but 200, or 304 in `revalidate`) or a connection failed.
 *
 *   npm run bench:photo -- [--seconds 5] [--connections 10] [--servers hubcast,nginx]
 *                          [--phases hit,miss,revalidate] [--room 10] [--smoke] [--no-pin] [--out F]
 * Env: BENCH_SECONDS, BENCH_SERVERS, BENCH_PRIVATE_SERVICES=1, BENCH_SERVER_NODE_ARGS (the
 * gateway's node flags instead of --max-semi-space-size=1).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  cpuMicros,
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
import { ensureNginx } from './lib/peers.js';
import {
  ROOT,
  compiledScript,
  useServices,
  freePort,
  logDir,
  startGatewayProcess,
  stopChild,
  warnIfDistStale,
} from './lib/harness.js';
import type { PhotoParentMessage, PhotoReport, PhotoWorkerMessage } from './photo-client.js';

const SERVER_CPU = 0;
const CLIENT_CPU = 1;

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.BENCH_SECONDS },
    connections: { type: 'string', default: '10' },
    servers: { type: 'string', default: process.env.BENCH_SERVERS ?? 'hubcast,nginx' },
    phases: { type: 'string', default: 'hit,miss,revalidate' },
    /** Photos the Redis LRU has room for in the miss phase. */
    room: { type: 'string', default: '10' },
    smoke: { type: 'boolean', default: false },
    /** PostgreSQL of its own on other ports, shared with bench:e2e --private-services. */
    'private-services': { type: 'boolean', default: process.env.BENCH_PRIVATE_SERVICES === '1' },
    'no-pin': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const smoke = opts.smoke!;
const seconds = Number(opts.seconds ?? (smoke ? 1 : 5));
const connections = Number(opts.connections);
const room = Number(opts.room);
const pinning = !opts['no-pin'] && canPin();
type HubcastPhase = 'hit' | 'miss' | 'revalidate';
type Phase = HubcastPhase | 'get';
const phases = opts.phases!.split(',') as HubcastPhase[];
for (const p of phases)
  if (p !== 'hit' && p !== 'miss' && p !== 'revalidate')
    throw new Error(`--phases: unknown phase ${p}; known: hit, miss, revalidate`);
const serverNames = opts.servers!.split(',');
for (const s of serverNames)
  if (s !== 'hubcast' && s !== 'nginx') throw new Error(`--servers: unknown server ${s}; known: hubcast, nginx`);
if (!serverNames.includes('hubcast'))
  throw new Error('--servers: hubcast is needed (the peer serves the photos fetched from it)');

const logs = logDir('photo');

/** CPU time (µs) of several processes; one that has exited meanwhile counts 0. */
function cpuOf(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuMicros(pid);
    } catch {
      // exited between listing and reading: its time is lost either way
    }
  }
  return sum;
}

interface Target {
  server: 'hubcast' | 'nginx';
  port: number;
  /** The process whose CPU is "server CPU": the gateway, or nginx's worker. */
  pid: number;
  /** Processes behind the server (Redis, the database's backends), measured apart. */
  backendPids: () => Promise<number[]>;
}

interface PhaseResult {
  server: string;
  phase: Phase;
  connections: number;
  seconds: number;
  requests: number;
  reqPerSec: number;
  mbPerSec: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number; mean: number };
  statuses: Record<string, number>;
  /** Responses whose status was not the one expected (200; 304 when revalidating). Must be 0. */
  unexpected: number;
  errors: number;
  timeouts: number;
  hit: number;
  miss: number;
  /** HIT / (HIT + MISS) from the X-Cache headers; null for the peer and 304s. */
  hitRatio: number | null;
  serverCpuPct: number;
  serverMicrosPerRequest: number;
  /** Redis + PostgreSQL backends (not pinned), per request and in % of one core. */
  backendMicrosPerRequest: number;
  backendCpuPct: number;
  clientCpuPct: number;
  coreBusyPct: number[];
  harnessBound: boolean;
  /** Keys Redis evicted during the phase. */
  evictedKeys?: number;
  autocannon: PhotoReport['autocannon'];
}

let worker: ChildProcess | null = null;
const waiting = new Map<string, (m: any) => void>();

function startWorker(): ChildProcess {
  const w = fork(compiledScript('bench/photo-client.ts'), [], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  w.on('message', (m: PhotoWorkerMessage) => {
    if (m.type === 'error') {
      console.error(`[bench] load generator: ${m.error}`);
      process.exit(1);
    }
    const fn = waiting.get(m.type);
    waiting.delete(m.type);
    fn?.(m);
  });
  w.once('exit', (code, signal) => {
    if (!exiting) {
      console.error(`[bench] the load generator exited (${signal ?? code})`);
      process.exit(1);
    }
  });
  return w;
}

function next<T extends PhotoWorkerMessage['type']>(type: T): Promise<Extract<PhotoWorkerMessage, { type: T }>> {
  return new Promise((r) => waiting.set(type, r));
}

async function runPhase(t: Target, phase: Phase, ids: number[], etags?: string[], redis?: Redis): Promise<PhaseResult> {
  const begin = next('begin');
  const report = next('report');
  worker!.send({ cmd: 'run', port: t.port, ids, connections, seconds, etags } satisfies PhotoParentMessage);
  await begin;
  const backends = await t.backendPids();
  const evicted0 = redis ? await evictedKeys(redis) : 0;
  const srv0 = cpuOf([t.pid]);
  const be0 = cpuOf(backends);
  const cli0 = cpuOf([worker!.pid!, process.pid]);
  const sys0 = cpuTimes();
  const w0 = performance.now();
  const r = await report;
  const wall = (performance.now() - w0) / 1000;
  const coreBusy = cpuBusyPct(sys0, cpuTimes());
  const srv = cpuOf([t.pid]) - srv0;
  const be = cpuOf(backends) - be0;
  const cli = cpuOf([worker!.pid!, process.pid]) - cli0;
  const hist = new Histogram();
  hist.merge(r.hist);
  const expected = phase === 'revalidate' ? '304' : '200';
  const serverCpuPct = (100 * srv) / 1e6 / wall;
  const clientCpuPct = (100 * cli) / 1e6 / wall;
  return {
    server: t.server,
    phase,
    connections,
    seconds: r.seconds,
    requests: r.requests,
    reqPerSec: r.requests / r.seconds,
    mbPerSec: r.bytes / r.seconds / 1e6,
    latencyMs: hist.summaryMs(),
    statuses: r.statuses,
    unexpected: r.requests - (r.statuses[expected] ?? 0),
    errors: r.errors,
    timeouts: r.timeouts,
    hit: r.hit,
    miss: r.miss,
    hitRatio: r.hit + r.miss > 0 ? r.hit / (r.hit + r.miss) : null,
    serverCpuPct,
    serverMicrosPerRequest: r.requests > 0 ? srv / r.requests : NaN,
    backendMicrosPerRequest: r.requests > 0 ? be / r.requests : NaN,
    backendCpuPct: (100 * be) / 1e6 / wall,
    clientCpuPct,
    coreBusyPct: coreBusy.map((x) => Math.round(x)),
    // The load generator's core was the limit, not the server.
    harnessBound: clientCpuPct >= 90 && serverCpuPct < 90,
    evictedKeys: redis ? (await evictedKeys(redis)) - evicted0 : undefined,
    autocannon: r.autocannon,
  };
}

async function evictedKeys(redis: Redis): Promise<number> {
  return Number(/evicted_keys:(\d+)/.exec(await redis.info('stats'))?.[1] ?? NaN);
}

const COLUMNS = [
  'server',
  'phase',
  'requests',
  'req/s',
  'MB/s',
  'p50 ms',
  'p99 ms',
  'HIT',
  'MISS',
  'hit %',
  'bad',
  'srv CPU',
  'cli CPU',
  'cores',
  'srv µs/req',
  'redis+pg µs/req',
  'note',
];
const WIDTHS = [7, 10, 8, 7, 6, 6, 6, 7, 7, 5, 3, 7, 7, 7, 10, 15, 0];
function row(cells: string[]): string {
  return cells.map((c, i) => (WIDTHS[i] ? c.padStart(WIDTHS[i]) : c)).join('  ');
}
function printRow(r: PhaseResult): void {
  // CPU time on the two cores that was none of the server's, the harness's, Redis's or PostgreSQL's.
  const foreign =
    r.coreBusyPct.length >= 2
      ? r.coreBusyPct[0] + r.coreBusyPct[1] - r.serverCpuPct - r.clientCpuPct - r.backendCpuPct
      : 0;
  const note = [
    r.harnessBound ? 'harness-bound' : '',
    foreign > 30 ? `contended(+${Math.round(foreign)}% foreign CPU)` : '',
    r.unexpected || r.errors || r.timeouts
      ? `BAD: ${JSON.stringify(r.statuses)} errors=${r.errors} timeouts=${r.timeouts}`
      : '',
    r.evictedKeys !== undefined && r.phase === 'miss' ? `${r.evictedKeys} evicted` : '',
  ]
    .filter(Boolean)
    .join(' ');
  console.log(
    row([
      r.server,
      r.phase,
      String(r.requests),
      fmtInt(r.reqPerSec),
      r.mbPerSec.toFixed(0),
      fmtMs(r.latencyMs.p50 * 1000),
      fmtMs(r.latencyMs.p99 * 1000),
      String(r.hit),
      String(r.miss),
      r.hitRatio === null ? '-' : (100 * r.hitRatio).toFixed(1),
      String(r.unexpected),
      `${r.serverCpuPct.toFixed(0)}%`,
      `${r.clientCpuPct.toFixed(0)}%`,
      r.coreBusyPct.join('/'),
      r.serverMicrosPerRequest.toFixed(1),
      r.server === 'hubcast' ? r.backendMicrosPerRequest.toFixed(1) : '-',
      note,
    ]),
  );
}

function printRatios(all: PhaseResult[]): void {
  const find = (server: string, phase: Phase) => all.find((r) => r.server === server && r.phase === phase);
  const x = (a: number, b: number) =>
    Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '-';
  const lines: string[] = [];
  for (const [h, p] of [
    ['hit', 'get'],
    ['miss', 'get'],
    ['revalidate', 'revalidate'],
  ] as Array<[Phase, Phase]>) {
    const a = find('hubcast', h);
    const b = find('nginx', p);
    if (!a || !b) continue;
    lines.push(
      `  hubcast ${h} / nginx ${p}: req/s ${x(a.reqPerSec, b.reqPerSec)}; server µs/req ${x(a.serverMicrosPerRequest, b.serverMicrosPerRequest)}` +
        ` (${a.serverMicrosPerRequest.toFixed(1)} vs ${b.serverMicrosPerRequest.toFixed(1)}); p99 ${fmtMs(a.latencyMs.p99 * 1000)} vs ${fmtMs(b.latencyMs.p99 * 1000)} ms`,
    );
  }
  if (lines.length > 0)
    console.log(`ratios (hubcast ÷ peer, same run, ${connections} connections):\n${lines.join('\n')}`);
}

async function fetchAll(
  port: number,
  ids: number[],
): Promise<Array<{ id: number; etag: string; bytes: Buffer; cache: string | null }>> {
  const out = [];
  for (const id of ids) {
    const res = await fetch(`http://127.0.0.1:${port}/api/products/${id}/photo`);
    if (res.status !== 200) throw new Error(`GET photo ${id} on port ${port}: HTTP ${res.status}`);
    out.push({
      id,
      etag: res.headers.get('etag') ?? '',
      bytes: Buffer.from(await res.arrayBuffer()),
      cache: res.headers.get('x-cache'),
    });
  }
  return out;
}

let exiting = false;
let idleBefore: number[] = [];

async function main(): Promise<void> {
  if (pinning) pin(process.pid, CLIENT_CPU);
  if (serverNames.includes('nginx')) ensureNginx();
  warnIfDistStale();
  // Only PostgreSQL: the cache is a redis-server of this run's own; the broker is in-process.
  useServices({ private: opts['private-services']!, need: ['HUBCAST_TEST_DATABASE_URL'], services: ['postgres'] });
  const { createTestDatabase, startPrivateRedis } = await import('../test/helpers/services.js');
  const db = await createTestDatabase();
  const cache = await startPrivateRedis();
  const redis = new Redis(cache.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  const photoRoot = mkdtempSync(join(tmpdir(), 'hubcast-bench-photo-files-'));
  chmodSync(photoRoot, 0o755); // nginx's worker runs as another user (nobody) and must read the files
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'hubcast-bench-photo-data-'));
  let gateway: ChildProcess | null = null;
  let nginx: ServerProc | null = null;
  let pgClient: pg.Client | null = null;
  const all: PhaseResult[] = [];
  try {
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: cache.url,
      BROKER_URL: '', // in-process broker: nothing is published during the run
      JWT_SECRET: '',
      API_KEY: '',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      REALTIME_MAX_CONNECTIONS_PER_IP: '0',
    };
    gateway = await startGatewayProcess({
      nodeArgs: process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? ['--max-semi-space-size=1'],
      env,
      port,
      logs,
      cpu: pinning ? SERVER_CPU : undefined,
      stopping: () => exiting,
    });
    const url = `http://127.0.0.1:${port}`;
    const products = (await (await fetch(`${url}/api/products`)).json()) as Array<{ id: number }>;
    const ids = products.map((p) => p.id).sort((a, b) => a - b);
    // Warm: every photo once (a MISS that fills the cache), and a second time to check it is now a HIT.
    const photos = await fetchAll(port, ids);
    const again = await fetchAll(port, ids);
    const notHit = again.filter((p) => p.cache !== 'HIT').length;
    if (notHit > 0) process.stderr.write(`[bench] warning: ${notHit} photos were not cache HITs after warming\n`);
    const photoBytes = photos.map((p) => p.bytes.length);
    const maxPhoto = Math.max(...photoBytes);
    for (const p of photos) {
      mkdirSync(join(photoRoot, 'api/products', String(p.id)), { recursive: true });
      writeFileSync(join(photoRoot, 'api/products', String(p.id), 'photo'), p.bytes);
    }

    pgClient = new pg.Client({ connectionString: db.url });
    await pgClient.connect();
    const pgSelf = (await pgClient.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const gatewayBackends = async () => {
      const res = await pgClient!.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
        [db.name],
      );
      return res.rows.map((r) => r.pid).filter((p) => p !== pgSelf);
    };

    worker = startWorker();
    if (pinning) pin(worker.pid!, CLIENT_CPU);
    console.log(
      `photo: GET /api/products/:id/photo, ${ids.length} photos (${fmtInt(Math.min(...photoBytes))}–${fmtInt(maxPhoto)} B), ids cycling in order; ` +
        `autocannon, ${connections} connections, ${seconds} s per phase; ` +
        `${pinning ? `server on CPU ${SERVER_CPU}, load generator on CPU ${CLIENT_CPU}, Redis and PostgreSQL not pinned` : 'no pinning'}; node ${process.version}`,
    );
    idleBefore = await backgroundLoad();
    console.log(
      `background load before the run (CPU busy %, per core): ${idleBefore.join('/')}${idleBefore.some((x) => x > 15) ? '  — machine not idle: figures are skewed' : ''}`,
    );
    console.log(row(COLUMNS));

    const hub: Target = {
      server: 'hubcast',
      port,
      pid: gateway.pid!,
      backendPids: async () => [redisPid, ...(await gatewayBackends())],
    };
    for (const phase of phases) {
      if (phase === 'miss') {
        // Only the photo keys go, under any REDIS_PREFIX (the cluster bus keeps its sequence and streams in the same Redis,
        // without a TTL: volatile-lru never evicts them); then room for `room` photos.
        let cursor = '0';
        do {
          const [c, keys] = await redis.scan(cursor, 'MATCH', '*photo:*', 'COUNT', 1000);
          cursor = c;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== '0');
        const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
        await redis.config('SET', 'maxmemory-policy', 'volatile-lru');
        await redis.config('SET', 'maxmemory', String(used + room * (maxPhoto + 8192)));
      }
      const r = await runPhase(hub, phase, ids, phase === 'revalidate' ? photos.map((p) => p.etag) : undefined, redis);
      if (phase === 'miss') await redis.config('SET', 'maxmemory', '0');
      all.push(r);
      printRow(r);
    }
    gateway.removeAllListeners('exit');
    await stopChild(gateway);

    if (serverNames.includes('nginx')) {
      nginx = await startServer({
        name: 'nginx',
        args: [compiledScript('bench/photo-nginx.ts')],
        env: { PHOTO_ROOT: photoRoot },
        cpu: pinning ? SERVER_CPU : undefined,
      });
      const served = await fetchAll(nginx.port, ids);
      const differ = served.filter((s, i) => !s.bytes.equals(photos[i].bytes)).length;
      if (differ > 0) throw new Error(`nginx served ${differ} photos that differ from the gateway's`);
      const peer: Target = { server: 'nginx', port: nginx.port, pid: nginx.pid, backendPids: async () => [] };
      const peerPhases: Phase[] = [];
      if (phases.includes('hit') || phases.includes('miss')) peerPhases.push('get');
      if (phases.includes('revalidate')) peerPhases.push('revalidate');
      for (const phase of peerPhases) {
        const r = await runPhase(peer, phase, ids, phase === 'revalidate' ? served.map((s) => s.etag) : undefined);
        all.push(r);
        printRow(r);
      }
    }
  } finally {
    exiting = true;
    worker?.send({ cmd: 'exit' } satisfies PhotoParentMessage);
    if (gateway) await stopChild(gateway);
    if (nginx) await nginx.stop();
    await pgClient?.end().catch(() => undefined);
    redis.disconnect();
    await cache.stop();
    await db.drop().catch((err) => process.stderr.write(`[bench] dropping ${db.name}: ${err.message}\n`));
    rmSync(photoRoot, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
  // The gateway's log is kept only when something went wrong (an exception skips this).
  rmSync(logs.dir, { recursive: true, force: true });

  printRatios(all);
  const out = opts.out ?? join(ROOT, 'bench/results', `photo-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        bench: 'photo',
        date: new Date().toISOString(),
        node: process.version,
        pinned: pinning,
        smoke,
        connections,
        seconds,
        room,
        backgroundLoadPct: idleBefore,
        results: all,
      },
      null,
      2,
    ),
  );
  const label = (r: PhaseResult) => `${r.server} ${r.phase}`;
  writeFileSync(
    out.replace(/\.json$/, '-throughput.svg'),
    barChart(
      `photo: requests/s, ${connections} connections`,
      'req/s',
      all.map((r) => ({
        label: label(r),
        value: r.reqPerSec,
        note: `p99 ${fmtMs(r.latencyMs.p99 * 1000)} ms${r.harnessBound ? ' (harness-bound)' : ''}`,
      })),
    ),
  );
  writeFileSync(
    out.replace(/\.json$/, '-cpu.svg'),
    barChart(
      'photo: server CPU per request (lower is better)',
      'µs',
      all.map((r) => ({ label: label(r), value: r.serverMicrosPerRequest })),
    ),
  );
  console.log(`results: ${out}`);
  const bad = all.filter((r) => r.unexpected > 0 || r.errors > 0 || r.timeouts > 0 || r.requests === 0);
  console.log(
    `unexpected statuses=${all.reduce((s, r) => s + r.unexpected, 0)} errors=${all.reduce((s, r) => s + r.errors + r.timeouts, 0)}`,
  );
  if (bad.length > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`[bench] failed: ${err instanceof Error ? err.stack : err}`);
  process.exit(1);
});
