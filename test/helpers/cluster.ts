/**
 * A hubcast cluster for tests: N gateway processes (`node dist/cli.js gateway`) on one database,
 * one vhost and one Redis namespace, behind nginx rendered from deploy/nginx.conf — the same
 * template scripts/cluster.sh uses.
 *
 * Nodes listen on ports picked free at start and kept across restarts (nginx's upstream names
 * them), so a killed node comes back where the proxy expects it.
 *
 * @example
 * const cluster = await TestCluster.start({ nodes: 3 });
 * after(() => cluster.close());
 * const ws = await TestWs.open(cluster.nginx.wsUrl);
 * await cluster.kill(1);
 * await cluster.start(1);
 */
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RabbitMQBroker, type RabbitMQOptions } from '../../src/broker/rabbitmq.js';
import { EventGenerator, type EventGeneratorOptions } from '../../src/apps/catalog/generator.js';
import type { Logger } from '../../src/logger.js';
import { REPO_ROOT, startHubcast, type ExitInfo, type HubcastServer } from './processes.js';
import {
  createTestDatabase,
  createTestVhost,
  redisPrefix,
  serviceUrls,
  type TestDatabase,
  type TestVhost,
} from './services.js';
import { VersionTracker } from './wire-clients.js';

const execFileAsync = promisify(execFile);

/** Ports free right now on 127.0.0.1 (held together while picking, so they differ). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  try {
    return await Promise.all(
      servers.map(async (s) => {
        s.listen(0, '127.0.0.1');
        await once(s, 'listening');
        return (s.address() as { port: number }).port;
      }),
    );
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

// ------------------------------------------------------------------------------- nginx

let nginxChecked: Promise<void> | null = null;

/** Installs nginx through scripts/cluster.sh when it is missing (once per process). */
export function ensureNginx(): Promise<void> {
  nginxChecked ??= (async () => {
    try {
      await execFileAsync('nginx', ['-v']);
    } catch {
      await execFileAsync('bash', [join(REPO_ROOT, 'scripts/cluster.sh'), 'install-nginx'], { timeout: 300_000 });
    }
  })();
  return nginxChecked;
}

/**
 * deploy/nginx.conf with its placeholders filled in (comment lines, which name the
 * placeholders, are left alone): the same rendering as `scripts/cluster.sh`.
 */
export function renderNginxConfig(prefix: string, listen: string, upstreamPorts: number[]): string {
  const servers = upstreamPorts.map((p) => `server 127.0.0.1:${p} max_fails=0;`).join('\n        ');
  return readFileSync(join(REPO_ROOT, 'deploy/nginx.conf'), 'utf8')
    .split('\n')
    .map((line) =>
      /^\s*#/.test(line)
        ? line
        : line
            .replaceAll('__PREFIX__', prefix)
            .replaceAll('__LISTEN__', listen)
            .replace('__UPSTREAM_SERVERS__', servers),
    )
    .join('\n');
}

const liveNginx = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveNginx) child.kill('SIGKILL');
});

export interface RunningNginx {
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `ws://127.0.0.1:<port>/realtime/ws` */
  wsUrl: string;
  prefix: string;
  /** The last `lines` lines of nginx's error log, optionally only those matching `filter` (for failure messages). */
  errors(lines?: number, filter?: RegExp): string;
  stop(): Promise<void>;
}

/** nginx in the foreground (`daemon off`) with its own prefix, in front of `upstreamPorts`. */
export async function startNginx(upstreamPorts: number[]): Promise<RunningNginx> {
  await ensureNginx();
  const [port] = await freePorts(1);
  const prefix = mkdtempSync(join(tmpdir(), 'hubcast-nginx-'));
  mkdirSync(join(prefix, 'tmp'));
  // Started as root, nginx's workers run as `nobody`: they must be able to write request bodies
  // too big for memory (an upload) under tmp/, which mkdtemp made private to its owner.
  chmodSync(prefix, 0o755);
  chmodSync(join(prefix, 'tmp'), 0o777);
  const conf = join(prefix, 'nginx.conf');
  const errorLog = join(prefix, 'error.log');
  let config = renderNginxConfig(prefix, `127.0.0.1:${port}`, upstreamPorts);
  // HUBCAST_NGINX_LOG=info (or debug): a chattier error log, for investigating a failure.
  if (process.env.HUBCAST_NGINX_LOG)
    config = config.replace(/^(error_log \S+) warn;/m, `$1 ${process.env.HUBCAST_NGINX_LOG};`);
  writeFileSync(conf, config);
  const child = spawn('nginx', ['-p', prefix, '-c', conf, '-e', errorLog, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  liveNginx.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<ExitInfo>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  void exited.then(() => liveNginx.delete(child));
  const errors = (lines = 20, filter?: RegExp) => {
    let log = '';
    try {
      log = readFileSync(errorLog, 'utf8');
    } catch {
      // not written yet
    }
    const all = `${stderr}${log}`.trim().split('\n');
    return (filter ? all.filter((l) => filter.test(l)) : all).slice(-lines).join('\n');
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not come up on ${url}:\n${errors()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url,
    wsUrl: `ws://127.0.0.1:${port}/realtime/ws`,
    prefix,
    errors,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM'); // fast shutdown: connections are closed at once
        await exited;
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------------- the cluster

export interface ClusterOptions {
  nodes?: number;
  /** Extra environment for every node (HISTORY_SIZE, SSE_RETRY_MS, …). */
  env?: Record<string, string>;
  /** A Redis of the test's own (e.g. a persistent private one); default: the shared one with a fresh prefix. */
  redisUrl?: string;
  /** Start the nodes in this order, one after another (the first becomes RabbitMQ's active consumer). */
  startOrder?: number[];
  /** Environment of one node on top of `env` (e.g. its own REDIS_URL through a proxy). */
  nodeEnv?: (index: number) => Record<string, string>;
}

export interface ClusterNode {
  /** 1-based, as in NODE_ID `node-<i>`. */
  readonly index: number;
  readonly port: number;
  readonly url: string;
  /** The running process, or null while the node is down. */
  proc: HubcastServer | null;
  /** How many times it was started. */
  starts: number;
}

export class TestCluster {
  readonly nodes: ClusterNode[];
  readonly env: Record<string, string>;
  nodeEnv: (index: number) => Record<string, string> = () => ({});
  nginx!: RunningNginx;
  /** Every node process started, killed ones included (their logs stay readable). */
  readonly processes: HubcastServer[] = [];
  private readonly cleanups: Array<() => Promise<void>>;

  private constructor(nodes: ClusterNode[], env: Record<string, string>, cleanups: Array<() => Promise<void>>) {
    this.nodes = nodes;
    this.env = env;
    this.cleanups = cleanups;
  }

  /**
   * A fresh database, vhost and Redis prefix, the nodes (each waited for until it listens), then
   * nginx in front of them. Everything is released by `close()`.
   */
  static async start(options: ClusterOptions = {}): Promise<TestCluster> {
    const n = options.nodes ?? 3;
    const cleanups: Array<() => Promise<void>> = [];
    let db: TestDatabase | undefined;
    let vhost: TestVhost | undefined;
    const cluster = await (async () => {
      db = await createTestDatabase();
      cleanups.push(() => db!.drop());
      vhost = await createTestVhost();
      cleanups.push(() => vhost!.drop());
      const env: Record<string, string> = {
        DATABASE_URL: db.url,
        BROKER_URL: vhost.url,
        REDIS_URL: options.redisUrl ?? serviceUrls().redisUrl,
        REDIS_PREFIX: redisPrefix(),
        // Behind the proxy every client comes from 127.0.0.1.
        REALTIME_MAX_CONNECTIONS_PER_IP: '0',
        ...options.env,
      };
      const ports = await freePorts(n);
      const nodes = ports.map(
        (port, i): ClusterNode => ({ index: i + 1, port, url: `http://127.0.0.1:${port}`, proc: null, starts: 0 }),
      );
      return new TestCluster(nodes, env, cleanups);
    })().catch(async (err) => {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      throw err;
    });
    if (options.nodeEnv) cluster.nodeEnv = options.nodeEnv;
    try {
      const order = options.startOrder ?? cluster.nodes.map((node) => node.index);
      for (const i of order) await cluster.start(i);
      cluster.nginx = await startNginx(cluster.nodes.map((node) => node.port));
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  node(i: number): ClusterNode {
    const node = this.nodes[i - 1];
    if (node === undefined) throw new RangeError(`no node ${i} (the cluster has ${this.nodes.length})`);
    return node;
  }

  /** Start node `i` (again) on its port; resolves once it listens. */
  async start(i: number, timeoutMs = 30_000): Promise<HubcastServer> {
    const node = this.node(i);
    if (node.proc !== null && node.proc.exit === null) throw new Error(`node ${i} is already running`);
    node.starts++;
    node.proc = await startHubcast(
      'gateway',
      { ...this.env, ...this.nodeEnv(i), PORT: String(node.port), NODE_ID: `node-${i}` },
      { timeoutMs, name: `node-${i}#${node.starts}` },
    );
    this.processes.push(node.proc);
    return node.proc;
  }

  /** SIGKILL node `i`, as a crash would; resolves once it is gone. */
  async kill(i: number): Promise<void> {
    const proc = this.node(i).proc;
    if (proc === null) return;
    await proc.stop();
    this.node(i).proc = null;
  }

  /** SIGTERM node `i` (graceful drain) and wait for it to exit. */
  async terminate(i: number, timeoutMs = 15_000): Promise<ExitInfo> {
    const proc = this.node(i).proc;
    if (proc === null) throw new Error(`node ${i} is not running`);
    proc.signal('SIGTERM');
    const exit = await proc.waitExit(timeoutMs);
    await proc.stop(); // removes its temp directory
    this.node(i).proc = null;
    return exit;
  }

  /** `GET /realtime/stats` of node `i` (addressed directly, not through nginx). */
  async stats(i: number): Promise<Record<string, any>> {
    const res = await fetch(`${this.node(i).url}/realtime/stats`);
    if (!res.ok) throw new Error(`node ${i}: GET /realtime/stats answered ${res.status}`);
    return (await res.json()) as Record<string, any>;
  }

  /** Log records with this `msg`, over every node process started so far. */
  countLogs(msg: string): number {
    return this.processes.reduce((n, p) => n + p.logs.filter((r) => r.msg === msg).length, 0);
  }

  /** Each node's state and last log lines, and nginx's last errors: for failure messages. */
  describe(lines = 8): string {
    const nodes = this.nodes.map((node) => {
      const p = node.proc;
      if (p === null) return `node ${node.index} (port ${node.port}): down`;
      return `node ${node.index} (port ${node.port}): ${p.exit ? `EXITED ${JSON.stringify(p.exit)}` : 'running'}\n${p.tail(lines)}`;
    });
    return [...nodes, `nginx errors:\n${this.nginx?.errors(lines) ?? '(not started)'}`].join('\n');
  }

  async close(): Promise<void> {
    await this.nginx?.stop();
    await Promise.all(this.nodes.map((node) => node.proc?.stop()));
    for (const c of this.cleanups.reverse()) await c().catch(() => undefined);
    this.cleanups.length = 0;
  }
}

// ------------------------------------------------------------------------------- client fleet

/** What a product looks like in `product.updated` (only what the checks read). */
interface ProductState {
  id: number;
  version: number;
}

/** One client's log: every product version it received, in arrival order, per product. */
export interface ClientLog {
  readonly name: string;
  readonly versions: Map<number, number[]>;
  deliveries: number;
  reconnects: number;
  recoveryFailed: number;
  /** Per-product checks that allow a gap only after `recovery_failed` (when the fleet was given `initial`). */
  tracker: VersionTracker | null;
  /** When the current outage began (the client noticed a drop), or null while connected. */
  droppedAt: number | null;
}

export interface FleetOptions {
  /** nginx (or any gateway) base URL. */
  url: string;
  ws: number;
  sse: number;
  /** Reconnect backoff of the SDK clients. */
  minReconnectDelay?: number;
  maxReconnectDelay?: number;
  /**
   * Product versions when the fleet opens: each client then keeps a `VersionTracker`, and on
   * `recovery_failed` refetches the catalog as an application would.
   */
  initial?: Map<number, number>;
}

/**
 * SDK clients (`WSClient`, `createSSEClient`) on channel `products`, each keeping a log of the
 * product versions it received, its reconnects, and how long each outage lasted from a marked
 * moment (`markOutage`, e.g. a node kill) to its first event afterwards.
 */
export class ClientFleet {
  readonly logs: ClientLog[] = [];
  /** Milliseconds from the last `markOutage()` to a dropped client's first event after it reconnected. */
  readonly resumeMs: number[] = [];
  private outageAt = 0;
  private initial: Map<number, number> | null = null;
  private url = '';
  /** Refetches under way after `recovery_failed` (awaited by `settled`). */
  private readonly refetches = new Set<Promise<void>>();
  private readonly ws: import('../../packages/client/src/index.js').WSClient[] = [];
  private readonly sse: import('../../packages/client/src/index.js').SSEClient[] = [];

  private constructor() {}

  static async open(options: FleetOptions): Promise<ClientFleet> {
    const { WSClient, createSSEClient } = await import('../../packages/client/src/index.js');
    const fleet = new ClientFleet();
    const backoff = {
      minReconnectDelay: options.minReconnectDelay ?? 100,
      maxReconnectDelay: options.maxReconnectDelay ?? 1000,
    };
    fleet.initial = options.initial ?? null;
    fleet.url = options.url;
    for (let i = 0; i < options.ws; i++) {
      const log = fleet.newLog(`ws-${i + 1}`);
      const client = new WSClient(options.url, backoff);
      client.onMessage('event', (f) => {
        if (f.channel === 'products' && f.event === 'product.updated') fleet.record(log, f.data as ProductState);
      });
      client.onMessage('recovery_failed', () => fleet.noteRecoveryFailed(log));
      client.onStateChange((c) => fleet.stateChange(log, c.to));
      fleet.ws.push(client);
    }
    for (let i = 0; i < options.sse; i++) {
      const log = fleet.newLog(`sse-${i + 1}`);
      const client = createSSEClient(options.url, { channels: ['products'], ...backoff });
      client.onEvent<ProductState>('product.updated', (e) => fleet.record(log, e.data));
      client.onEvent('recovery_failed', () => fleet.noteRecoveryFailed(log));
      client.onStateChange((c) => fleet.stateChange(log, c.to));
      fleet.sse.push(client);
    }
    await Promise.all([
      ...fleet.ws.map(async (c) => {
        await c.connect();
        await c.joinChannel('products');
      }),
      ...fleet.sse.map((c) => c.ready),
    ]);
    return fleet;
  }

  /** Resume times are measured from now (call it right before killing a node). */
  markOutage(): void {
    this.outageAt = Date.now();
  }

  get deliveries(): number {
    return this.logs.reduce((n, l) => n + l.deliveries, 0);
  }

  get reconnects(): number {
    return this.logs.reduce((n, l) => n + l.reconnects, 0);
  }

  get recoveryFailed(): number {
    return this.logs.reduce((n, l) => n + l.recoveryFailed, 0);
  }

  /** True when every client's last version of every product is `final`'s. */
  holdsAll(final: Map<number, number>, initial: Map<number, number>): boolean {
    return this.logs.every((l) => {
      for (const [id, version] of final) {
        const seen = l.versions.get(id);
        const last = seen === undefined ? initial.get(id) : seen[seen.length - 1];
        if (last !== version) return false;
      }
      return true;
    });
  }

  /**
   * Check every client's log against the versions each product went through: per product,
   * exactly `initial + 1 … final`, each once, in order. Returns the problems found (gaps,
   * repeats, reorderings, counted per client and product) with a few examples.
   */
  verify(final: Map<number, number>, initial: Map<number, number>): { gaps: number; examples: string[] } {
    let gaps = 0;
    const examples: string[] = [];
    for (const l of this.logs) {
      for (const [id, last] of final) {
        const from = initial.get(id) ?? 1;
        const seen = l.versions.get(id) ?? [];
        const ok = seen.length === last - from && seen.every((v, i) => v === from + 1 + i);
        if (ok) continue;
        gaps++;
        if (examples.length < 5)
          examples.push(
            `${l.name} product ${id}: expected ${from + 1}…${last}, got [${seen.slice(0, 40).join(',')}${seen.length > 40 ? ',…' : ''}]`,
          );
      }
    }
    return { gaps, examples };
  }

  close(): void {
    for (const c of this.ws) c.disconnect();
    for (const c of this.sse) c.close();
  }

  get trackers(): VersionTracker[] {
    return this.logs.flatMap((l) => (l.tracker === null ? [] : [l.tracker]));
  }

  /** Resolves when every refetch started by a `recovery_failed` so far is done. */
  async settled(): Promise<void> {
    while (this.refetches.size > 0) await Promise.all(this.refetches);
  }

  private noteRecoveryFailed(log: ClientLog): void {
    log.recoveryFailed++;
    const tracker = log.tracker;
    if (tracker === null) return;
    tracker.notice();
    const refetch = productVersions(this.url).then(
      (m) => tracker.refetch(m),
      () => undefined, // a refetch through a node that is down: the next notice or event catches up
    );
    this.refetches.add(refetch);
    void refetch.finally(() => this.refetches.delete(refetch));
  }

  private newLog(name: string): ClientLog {
    const tracker = this.initial === null ? null : new VersionTracker(name, this.initial);
    const log: ClientLog = {
      name,
      versions: new Map(),
      deliveries: 0,
      reconnects: 0,
      recoveryFailed: 0,
      tracker,
      droppedAt: null,
    };
    this.logs.push(log);
    return log;
  }

  private record(log: ClientLog, product: ProductState): void {
    log.deliveries++;
    log.tracker?.event(product);
    let seen = log.versions.get(product.id);
    if (seen === undefined) log.versions.set(product.id, (seen = []));
    seen.push(product.version);
    if (log.droppedAt !== null) {
      // First event after an outage: the client is caught up (replay comes first).
      this.resumeMs.push(Date.now() - Math.max(this.outageAt, 0));
      log.droppedAt = null;
    }
  }

  private stateChange(log: ClientLog, to: string): void {
    if (to === 'reconnecting' && log.droppedAt === null) {
      log.reconnects++;
      log.droppedAt = Date.now();
    }
  }
}

/** The p-th percentile (0–100) of `values`, nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** `GET /api/products` → id → version. */
export async function productVersions(url: string): Promise<Map<number, number>> {
  const res = await fetch(`${url}/api/products`);
  if (!res.ok) throw new Error(`GET /api/products: HTTP ${res.status}`);
  const body = (await res.json()) as ProductState[] | { products: ProductState[] };
  const list = Array.isArray(body) ? body : body.products;
  return new Map(list.map((p) => [p.id, p.version]));
}

/** How far a paced generator has got: `emitted` so far, `done` once all are out and the generator stopped. */
export interface PacedGenerator {
  readonly emitted: number;
  readonly done: Promise<void>;
}

/**
 * Drives `generator` one event at a time so exactly `events` go out at `rate` per second
 * (give it an interval that never ticks by itself: emitOne() here sets the pace).
 */
export function paceGenerator(
  generator: { emitOne(): boolean; stop(): Promise<unknown> },
  events: number,
  rate: number,
): PacedGenerator {
  let emitted = 0;
  const startedAt = Date.now();
  const done = (async () => {
    while (emitted < events) {
      const due = Math.min(events, Math.floor(((Date.now() - startedAt) * rate) / 1000));
      while (emitted < due && generator.emitOne()) emitted++;
      await new Promise((r) => setTimeout(r, 5));
    }
    await generator.stop();
  })();
  return {
    get emitted() {
      return emitted;
    },
    done,
  };
}

export interface PacedRunOptions {
  /** The products and their versions at the start (their ids are what the generator changes). */
  initial: Map<number, number>;
  events: number;
  rate: number;
  logger: Logger;
  /** Where the broker's close goes, run by the test's teardown. */
  cleanups: Array<() => Promise<void> | void>;
  broker?: RabbitMQOptions;
  generator?: Partial<EventGeneratorOptions>;
}

/** The product's own generator, on a broker connection of its own to the cluster's vhost, started and paced (paceGenerator). */
export async function startPacedGenerator(cluster: TestCluster, o: PacedRunOptions): Promise<PacedGenerator> {
  const broker = await RabbitMQBroker.connect(cluster.env.BROKER_URL, o.logger, o.broker);
  o.cleanups.push(() => broker.close());
  const generator = new EventGenerator({
    broker,
    productIds: async () => [...o.initial.keys()],
    intervalMs: 86_400_000,
    logger: o.logger,
    ...o.generator,
  });
  await generator.start();
  return paceGenerator(generator, o.events, o.rate);
}

/** Version bumps in `versions` since `initial`: the events applied. */
export function versionBumps(versions: Map<number, number>, initial: Map<number, number>): number {
  return [...versions].reduce((n, [id, v]) => n + v - initial.get(id)!, 0);
}

/** Polls the catalog through nginx until `events` versions past `initial` are applied; the versions then. */
export async function untilApplied(
  cluster: TestCluster,
  initial: Map<number, number>,
  events: number,
  timeoutMs: number,
): Promise<Map<number, number>> {
  const deadline = Date.now() + timeoutMs;
  let final: Map<number, number>;
  while (versionBumps((final = await productVersions(cluster.nginx.url)), initial) < events) {
    if (Date.now() > deadline)
      assert.fail(
        `only ${versionBumps(final, initial)} of ${events} events applied after ${timeoutMs / 1000} s\n${cluster.describe()}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
  return final;
}
