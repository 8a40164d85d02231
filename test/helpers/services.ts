/**
 * Real services for tests: PostgreSQL, Redis and RabbitMQ started by `scripts/services.sh`.
 *
 * Every test gets its own isolated slice of a shared service — a fresh database, a fresh vhost,
 * a unique Redis key prefix — so test files run in parallel without seeing each other. Tests that
 * stop or restart a shared service must live in `*.serial.test.ts` files (run one at a time, after
 * the rest); tests that only need to kill Redis use `startPrivateRedis()` instead.
 *
 * @example
 * const db = await createTestDatabase();
 * after(() => db.drop());
 * const vhost = await createTestVhost();
 * after(() => vhost.drop());
 * const conn = await amqp.connect(vhost.url);
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { redisPrefix, uniqueSuffix } from './unique.js';

export { redisPrefix };

const execFileAsync = promisify(execFile);
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SERVICES_SCRIPT = resolve(REPO_ROOT, 'scripts/services.sh');

/** Thrown by every helper here; `code` says what went wrong. */
export class TestServicesError extends Error {
  readonly code: 'services_not_configured' | 'service_request_failed' | 'service_script_failed' | 'service_timeout';

  constructor(code: TestServicesError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TestServicesError';
    this.code = code;
  }
}

export interface ServiceUrls {
  /** `postgres://postgres@127.0.0.1:55432/hubcast` — the shared database; prefer `createTestDatabase()`. */
  databaseUrl: string;
  /** `redis://127.0.0.1:56379` — shared; namespace keys with `redisPrefix()`. */
  redisUrl: string;
  /** `amqp://guest:guest@127.0.0.1:55672` — default vhost; prefer `createTestVhost()`. */
  brokerUrl: string;
  /** `http://guest:guest@127.0.0.1:55674` — RabbitMQ management HTTP API. */
  rabbitmqMgmt: string;
}

const ENV = {
  databaseUrl: 'HUBCAST_TEST_DATABASE_URL',
  redisUrl: 'HUBCAST_TEST_REDIS_URL',
  brokerUrl: 'HUBCAST_TEST_BROKER_URL',
  rabbitmqMgmt: 'HUBCAST_TEST_RABBITMQ_MGMT',
} as const satisfies Record<keyof ServiceUrls, string>;

/**
 * URLs of the running services, from the `HUBCAST_TEST_*` variables `services.sh env` prints.
 * Throws when they are unset: a test that needs a real service fails rather than skips.
 */
export function serviceUrls(): ServiceUrls {
  const missing = Object.values(ENV).filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new TestServicesError(
      'services_not_configured',
      `${missing.join(', ')} not set: run via npm test or bash scripts/services.sh start && eval $(bash scripts/services.sh env)`,
    );
  }
  return {
    databaseUrl: process.env[ENV.databaseUrl]!,
    redisUrl: process.env[ENV.redisUrl]!,
    brokerUrl: process.env[ENV.brokerUrl]!,
    rabbitmqMgmt: process.env[ENV.rabbitmqMgmt]!,
  };
}

/** A short unique name part: time-ordered so leftovers from old runs are easy to spot. */

// ------------------------------------------------------------------------------- PostgreSQL

export interface TestDatabase {
  /** `postgres://postgres@127.0.0.1:55432/hubcast_test_…` */
  url: string;
  name: string;
  /** Drops the database, closing any connection still open on it. Safe to call twice. */
  drop(): Promise<void>;
}

async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(serviceUrls().databaseUrl);
  // CREATE/DROP DATABASE cannot run inside the database they copy or drop: use `postgres`.
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty PostgreSQL database with a unique name. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `hubcast_test_${uniqueSuffix()}`;
  await withAdminClient((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(serviceUrls().databaseUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      // WITH (FORCE): a pool the test forgot to end must not keep the database alive.
      await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

// ------------------------------------------------------------------------------- RabbitMQ

/**
 * A request to the RabbitMQ management HTTP API (`path` like `/api/vhosts`). Credentials come from
 * the URL in `HUBCAST_TEST_RABBITMQ_MGMT` (fetch refuses URLs that carry them, so they become a header).
 */
export async function rabbitmqApi(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  const base = new URL(serviceUrls().rabbitmqMgmt);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
  base.username = '';
  base.password = '';
  const headers: Record<string, string> = { authorization: auth };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(new URL(path, base), {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

async function expectOk(res: Response, what: string, allow404 = false): Promise<void> {
  if (res.ok || (allow404 && res.status === 404)) return;
  throw new TestServicesError('service_request_failed', `${what}: HTTP ${res.status} ${await res.text()}`);
}

export interface TestVhost {
  /** `amqp://guest:guest@127.0.0.1:55672/hubcast-test-…` */
  url: string;
  /** The vhost name, for `queueInfo(name, queue)` and management calls. */
  name: string;
  /** Deletes the vhost with all its queues and exchanges; open connections are closed by RabbitMQ. */
  drop(): Promise<void>;
}

/** A fresh RabbitMQ vhost on which `guest` may do everything. */
export async function createTestVhost(): Promise<TestVhost> {
  const name = `hubcast-test-${uniqueSuffix()}`;
  const path = `/api/vhosts/${encodeURIComponent(name)}`;
  await expectOk(await rabbitmqApi(path, { method: 'PUT', body: {} }), `creating vhost ${name}`);
  await expectOk(
    await rabbitmqApi(`/api/permissions/${encodeURIComponent(name)}/guest`, {
      method: 'PUT',
      body: { configure: '.*', write: '.*', read: '.*' },
    }),
    `granting guest on vhost ${name}`,
  );
  const url = new URL(serviceUrls().brokerUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await expectOk(await rabbitmqApi(path, { method: 'DELETE' }), `deleting vhost ${name}`, true);
    },
  };
}

/**
 * Counts from the management API. They lag the broker by up to ~1.5 s (queue stats every 500 ms,
 * aggregated every 1 s; see scripts/services.sh): poll with `waitForQueue`, never sleep.
 */
export interface QueueInfo {
  name: string;
  vhost: string;
  /** ready + unacknowledged */
  messages: number;
  messages_ready: number;
  messages_unacknowledged: number;
  consumers: number;
  durable: boolean;
  arguments: Record<string, unknown>;
}

/** Message counts of a queue, or `null` when the queue (or vhost) does not exist. */
export async function queueInfo(vhost: string | { name: string }, queue: string): Promise<QueueInfo | null> {
  const vhostName = typeof vhost === 'string' ? vhost : vhost.name;
  const res = await rabbitmqApi(`/api/queues/${encodeURIComponent(vhostName)}/${encodeURIComponent(queue)}`);
  if (res.status === 404) return null;
  await expectOk(res, `reading queue ${queue} on vhost ${vhostName}`);
  const raw = (await res.json()) as Partial<QueueInfo>;
  // A queue declared a moment ago has no stats yet: its counters are absent, not zero.
  return {
    name: raw.name ?? queue,
    vhost: raw.vhost ?? vhostName,
    messages: raw.messages ?? 0,
    messages_ready: raw.messages_ready ?? 0,
    messages_unacknowledged: raw.messages_unacknowledged ?? 0,
    consumers: raw.consumers ?? 0,
    durable: raw.durable ?? false,
    arguments: raw.arguments ?? {},
  };
}

/**
 * Polls `queueInfo` until `predicate` holds (the management counters refresh about once a second).
 * Rejects with the last seen info after `timeoutMs`.
 */
export async function waitForQueue(
  vhost: string | { name: string },
  queue: string,
  predicate: (info: QueueInfo) => boolean,
  { timeoutMs = 10_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<QueueInfo> {
  const deadline = Date.now() + timeoutMs;
  let last: QueueInfo | null = null;
  for (;;) {
    last = await queueInfo(vhost, queue);
    if (last && predicate(last)) return last;
    if (Date.now() >= deadline) {
      throw new TestServicesError(
        'service_timeout',
        `queue ${queue} did not reach the expected state within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ------------------------------------------------------------------------------- Redis

/** A unique key prefix (`test:<id>:`) so parallel tests never share keys on the shared Redis. */

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM) and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
  /** Kills the server abruptly (SIGKILL), as a crash would, and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same port after `stop()` or `kill()`: empty, unless `persistent`. */
  restart(): Promise<void>;
}

export interface PrivateRedisOptions {
  /**
   * Keep data across restarts: append-only file (fsync on every write) in a
   * directory of its own, removed by `stop()`. Without it the server is as the
   * shared one: no persistence, empty after a restart.
   */
  persistent?: boolean;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

const privateRedises = new Set<ChildProcess>();
// A test that crashes before stop() must not leave servers behind; `exit` handlers must be sync.
process.once('exit', () => {
  for (const child of privateRedises) child.kill('SIGKILL');
});

/** Resolves true when a Redis on `port` answers PING. */
function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolvePing) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePing(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

async function spawnRedis(port: number, dataDir?: string): Promise<ChildProcess> {
  const logFile = join(tmpdir(), `hubcast-private-redis-${port}.log`);
  const persistence =
    dataDir === undefined
      ? ['--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dataDir];
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      ...persistence,
      '--daemonize',
      'no',
      '--logfile',
      logFile,
    ],
    { stdio: 'ignore' },
  );
  // A test that forgets stop() must not hang its process; the exit hook above still kills it.
  child.unref();
  privateRedises.add(child);
  let failure: Error | undefined;
  child.once('error', (err) => {
    failure = new TestServicesError(
      'service_script_failed',
      `cannot run redis-server (install it with bash scripts/services.sh start redis): ${err.message}`,
      { cause: err },
    );
  });
  child.once('exit', (code, signal) => {
    privateRedises.delete(child);
    failure ??= new TestServicesError(
      'service_script_failed',
      `private redis-server on port ${port} exited (${signal ?? code}):\n${readLogTail(logFile)}`,
    );
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (failure) throw failure;
    if (await redisAnswers(port)) return child;
    if (Date.now() >= deadline) {
      child.kill('SIGKILL');
      throw new TestServicesError(
        'service_timeout',
        `private redis-server on port ${port} not ready after 10 s:\n${readLogTail(logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function readLogTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch (err) {
    return `(no log at ${file}: ${(err as Error).message})`;
  }
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // The child is unref'd; hold the event loop open until it is gone.
  child.ref();
  child.kill(signal);
  await exited;
  child.unref();
}

/**
 * A throwaway redis-server of its own on a free port, for tests that kill Redis without
 * disturbing the shared one.
 */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dataDir = options.persistent ? mkdtempSync(join(tmpdir(), 'hubcast-private-redis-')) : undefined;
  let child = await spawnRedis(port, dataDir);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await stopChild(child, 'SIGTERM');
      rmSync(join(tmpdir(), `hubcast-private-redis-${port}.log`), { force: true });
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    },
    kill: () => stopChild(child, 'SIGKILL'),
    async restart() {
      await stopChild(child, 'SIGTERM');
      child = await spawnRedis(port, dataDir);
    },
  };
}

// ------------------------------------------------------------------------------- shared services

export type ServiceName = 'postgres' | 'redis' | 'rabbitmq';

async function runServicesScript(command: 'start' | 'stop' | 'restart', name: ServiceName): Promise<void> {
  try {
    // --adopt: the tests use the shared services whoever started them.
    await execFileAsync('bash', [SERVICES_SCRIPT, command, ...(command === 'start' ? ['--adopt'] : []), name], {
      cwd: REPO_ROOT,
      timeout: 180_000,
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new TestServicesError(
      'service_script_failed',
      `services.sh ${command} ${name} failed: ${stderr.trim() || (err as Error).message}`,
      { cause: err },
    );
  }
}

/** Stops a shared service. Only in `*.serial.test.ts` files. */
export function stopService(name: ServiceName): Promise<void> {
  return runServicesScript('stop', name);
}

/** Starts a shared service and waits until it is healthy. Only in `*.serial.test.ts` files. */
export function startService(name: ServiceName): Promise<void> {
  return runServicesScript('start', name);
}

/** Restarts a shared service and waits until it is healthy. Only in `*.serial.test.ts` files. */
export function restartService(name: ServiceName): Promise<void> {
  return runServicesScript('restart', name);
}
