/**
 * What the bench scripts that run the real gateway share: the services they
 * use (shared, or private ones on other ports), free ports, child processes
 * with a log each, waiting, a warning when dist/ is older than src/, and the
 * spawned scripts compiled to plain JavaScript.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * RabbitMQ/PostgreSQL/Redis of the benches' own (`scripts/services.sh` with its
 * directory and ports overridden): the shared ones are restarted by the serial
 * tests of concurrent `npm test` runs. bench:e2e and bench:photo share them.
 */
export const PRIVATE_SERVICES = {
  HUBCAST_SERVICES_DIR: join(tmpdir(), 'hubcast-bench-services'),
  HUBCAST_PG_PORT: '57432',
  HUBCAST_REDIS_PORT: '57379',
  HUBCAST_AMQP_PORT: '57672',
  HUBCAST_RABBITMQ_DIST_PORT: '57673',
  HUBCAST_RABBITMQ_MGMT_PORT: '57674',
  HUBCAST_RABBITMQ_CTL_PORT_MIN: '57675',
  HUBCAST_RABBITMQ_CTL_PORT_MAX: '57685',
  HUBCAST_EPMD_PORT: '4371',
};

/**
 * Put the services' `HUBCAST_TEST_*` URLs into process.env, starting
 * `services` (all when empty) with scripts/services.sh unless every variable
 * in `need` is set already.
 */
export function useServices(options: { private: boolean; need: string[]; services?: string[] }): void {
  if (options.private) {
    Object.assign(process.env, PRIVATE_SERVICES);
    for (const k of Object.keys(process.env)) if (k.startsWith('HUBCAST_TEST_')) delete process.env[k];
  }
  if (options.need.every((k) => process.env[k])) return;
  const script = join(ROOT, 'scripts/services.sh');
  const services = options.services ?? [];
  process.stderr.write(`[bench] starting services (scripts/services.sh start ${services.join(' ')})\n`);
  execFileSync('bash', [script, 'start', '--adopt', ...services], { stdio: ['ignore', 'ignore', 'inherit'] });
  const out = execFileSync('bash', [script, 'env'], { encoding: 'utf8' });
  for (const m of out.matchAll(/^export (\w+)=(.*)$/gm)) process.env[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
}

export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A directory for the logs of a run's child processes, and the tail of one of them (shown when a run goes wrong). */
export function logDir(bench: string): { dir: string; tail(name: string): string } {
  const dir = mkdtempSync(join(tmpdir(), `hubcast-bench-${bench}-logs-`));
  return {
    dir,
    tail(name: string): string {
      try {
        return readFileSync(join(dir, name), 'utf8').trim().split('\n').slice(-15).join('\n');
      } catch {
        return '(no log)';
      }
    },
  };
}

type Logs = ReturnType<typeof logDir>;

/** `node <args>` with stdout and stderr in `logs`' file `logName`, pinned to `cpu` when given. */
export function spawnLogged(
  args: string[],
  env: Record<string, string>,
  logs: Logs,
  logName: string,
  cpu?: number,
): ChildProcess {
  const [cmd, argv] =
    cpu !== undefined ? ['taskset', ['-c', String(cpu), process.execPath, ...args]] : [process.execPath, args];
  const log = openSync(join(logs.dir, logName), 'a');
  return spawn(cmd, argv as string[], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
}

/**
 * The compiled gateway (`node <nodeArgs> dist/cli.js gateway`, logging to gateway.log), resolved
 * once `/readyz` answers 200 on `port`. Exiting before `stopping()` says so leaves the run without
 * figures: the log's tail is printed and the bench exits 1.
 */
export async function startGatewayProcess(options: {
  nodeArgs: string[];
  env: Record<string, string>;
  port: number;
  logs: Logs;
  cpu?: number;
  stopping: () => boolean;
}): Promise<ChildProcess> {
  const { logs } = options;
  const gateway = spawnLogged(
    [...options.nodeArgs, join(ROOT, 'dist/cli.js'), 'gateway'],
    options.env,
    logs,
    'gateway.log',
    options.cpu,
  );
  gateway.once('exit', (code, signal) => {
    if (options.stopping()) return;
    console.error(
      `[bench] the gateway exited during the run (${signal ?? code}); no figures\n${logs.tail('gateway.log')}`,
    );
    process.exit(1);
  });
  await waitUntil(
    async () => (await fetch(`http://127.0.0.1:${options.port}/readyz`).catch(() => null))?.status === 200,
    60_000,
    'gateway /readyz',
  );
  return gateway;
}

/** SIGTERM, then SIGKILL after 12 s; resolves when the child has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 12_000);
  await exited;
  clearTimeout(t);
}

export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The benches run the compiled server: say so when src/ changed after the last build. */
export function warnIfDistStale(): void {
  let stale = true;
  try {
    const built = statSync(join(ROOT, 'dist/server.js')).mtimeMs;
    const newest = (dir: string): number =>
      readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
        const p = join(dir, e.name);
        return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
      }, 0);
    stale = newest(join(ROOT, 'src')) > built;
  } catch {
    // no dist/ at all: stale
  }
  if (stale)
    process.stderr.write(
      '[bench] warning: src/ is newer than dist/ — run `npm run build` to measure the current code\n',
    );
}

let benchCompiled = false;

/**
 * The path to run `script` (`bench/servers/hubcast.ts`, `bench/fanout-client.ts`, …) from as
 * plain JavaScript, compiled into dist-bench/ (once per bench process; tsc takes about half a
 * second). Servers and load-generator workers must not run under `tsx`: its loader runs in a
 * thread of the process, and pinned to one core with the server that thread's own GCs stall the
 * server's main thread (measured: 5–10 ms stalls during a 10 events/s run, lining up with
 * `--trace-gc`'s Mark-Compacts in the loader's isolate) — a cost `npm start` does not have.
 * Spawn it with no `--import tsx` (for `fork`, `execArgv: []`).
 */
export function compiledScript(script: string): string {
  if (!benchCompiled) {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'bench/tsconfig.build.json')],
      { cwd: ROOT, stdio: 'inherit' },
    );
    benchCompiled = true;
  }
  return join(ROOT, 'dist-bench', script.replace(/^bench\//, '').replace(/\.ts$/, '.js'));
}
