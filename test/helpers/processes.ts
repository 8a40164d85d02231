/**
 * hubcast as real child processes (`node dist/cli.js …`, the examples), for
 * end-to-end tests that drive the product only from the outside.
 *
 * Every child is registered: `killAll()` (call it from `after`) and a
 * process `exit` hook SIGKILL whatever a test left running, so a failed
 * assertion never leaks a gateway. Children run with a clean environment (no
 * hubcast variable inherited from the test runner) in a temp directory of
 * their own, so a developer's `.env` or `./data` is never read.
 *
 * @example
 * const gw = await startHubcast('gateway', { DATABASE_URL: db.url, BROKER_URL: vhost.url });
 * after(() => gw.stop());
 * const res = await fetch(`${gw.url}/api/products/1`);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envSchema } from '../../src/config/schema.js';
import { redisPrefix } from './unique.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(REPO_ROOT, 'dist/cli.js');

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One child process with its output kept, line by line, for assertions and waiting. */
export class TestProcess {
  readonly child: ChildProcess;
  readonly name: string;
  readonly cwd: string;
  stdout = '';
  stderr = '';
  /** stdout lines that parsed as JSON (pino log records). */
  readonly logs: Array<Record<string, any>> = [];
  exit: ExitInfo | null = null;
  private readonly exited: Promise<ExitInfo>;
  private waiters: Array<() => void> = [];

  constructor(name: string, command: string, args: string[], env: Record<string, string>, cwd: string) {
    this.name = name;
    this.cwd = cwd;
    this.child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this.child);
    let outTail = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      outTail += chunk;
      const lines = outTail.split('\n');
      outTail = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          this.logs.push(JSON.parse(line));
        } catch {
          // a plain line that happens to start with '{': kept in `stdout` only
        }
      }
      this.wake();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        live.delete(this.child);
        this.exit = { code, signal };
        this.wake();
        resolve(this.exit);
      });
      this.child.once('error', (err) => {
        live.delete(this.child);
        this.stderr += `\n[spawn error] ${err.message}`;
        this.exit = { code: -1, signal: null };
        this.wake();
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves on the next output or exit (or after `ms`). */
  private changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Last lines of both streams, for failure messages. */
  tail(n = 15): string {
    const last = (s: string) => s.trimEnd().split('\n').slice(-n).join('\n');
    return `--- ${this.name} stdout ---\n${last(this.stdout)}\n--- ${this.name} stderr ---\n${last(this.stderr)}`;
  }

  /** Wait until `check` returns a value other than undefined/false; fails early if the process exits. */
  async until<T>(check: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = check();
      if (found !== undefined && found !== false) return found;
      if (this.exit)
        throw new Error(`${this.name} exited (${this.exit.signal ?? this.exit.code}) before ${what}\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.tail()}`);
      await this.changed(left);
    }
  }

  /** The first log record (from index `from`) matching `pred`. */
  waitForLog(
    pred: (rec: Record<string, any>) => boolean,
    timeoutMs: number,
    what: string,
    from = 0,
  ): Promise<Record<string, any>> {
    return this.until(() => this.logs.slice(from).find(pred), timeoutMs, what);
  }

  /** The first stdout line (from line index `from`) matching `pred`. */
  waitForLine(
    pred: (line: string) => boolean,
    timeoutMs: number,
    what: string,
    stream: 'stdout' | 'stderr' = 'stdout',
  ): Promise<string> {
    return this.until(() => this[stream].split('\n').find(pred), timeoutMs, what);
  }

  /** Resolves with how the process ended; rejects after `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name} still running after ${timeoutMs} ms\n${this.tail()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exit === null) this.child.kill(sig);
  }

  /** SIGKILL and wait for the exit. Safe to call twice or after the process ended. */
  async kill(): Promise<ExitInfo> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** SIGKILL if still running, then remove its temp directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.cwd, { recursive: true, force: true });
  }
}

/** Every variable hubcast reads (envSchema), so none leaks from the test runner into a child. */
const HUBCAST_VARS = new Set(Object.keys(envSchema.shape));

/** The runner's environment minus hubcast's variables, plus `env`. */
export function childEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !HUBCAST_VARS.has(k)) out[k] = v;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
}

/**
 * `node dist/cli.js <args>` in a fresh temp directory (also its DATA_DIR
 * unless `env.DATA_DIR` is given), logging JSON at info level, with a unique
 * REDIS_PREFIX unless one is given (gateways on the shared Redis form one
 * cluster per prefix: without it, parallel tests would see each other's events).
 * Returns at once.
 */
export function spawnHubcast(
  args: string[],
  env: Record<string, string | undefined> = {},
  name = `hubcast ${args[0]}`,
): TestProcess {
  assertBuilt();
  const cwd = mkdtempSync(join(tmpdir(), 'hubcast-e2e-'));
  return new TestProcess(
    name,
    process.execPath,
    [CLI, ...args],
    childEnv({ DATA_DIR: join(cwd, 'data'), LOG_LEVEL: 'info', REDIS_PREFIX: redisPrefix(), ...env }),
    cwd,
  );
}

export interface HubcastServer extends TestProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `ws://127.0.0.1:<port>/realtime/ws` */
  wsUrl: string;
}

/**
 * A gateway process (`gateway`, or `start` for the embedded all-in-one) on a
 * free port (PORT=0; the port is read from its "listening" log line).
 * Resolves once it listens.
 */
export async function startHubcast(
  command: 'gateway' | 'start',
  env: Record<string, string | undefined> = {},
  { timeoutMs = 30_000, name }: { timeoutMs?: number; name?: string } = {},
): Promise<HubcastServer> {
  const proc = spawnHubcast([command], { PORT: '0', ...env }, name) as HubcastServer;
  try {
    const rec = await proc.waitForLog(
      (r) => r.msg === 'hubcast gateway listening' && typeof r.url === 'string',
      timeoutMs,
      `${proc.name} to listen`,
    );
    proc.url = rec.url;
    proc.wsUrl = `${rec.url.replace(/^http/, 'ws')}/realtime/ws`;
    return proc;
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/** `node <script> <args>` from the repository root (examples/…), with a clean environment. */
export function spawnScript(
  script: string,
  args: string[] = [],
  env: Record<string, string | undefined> = {},
): TestProcess {
  const cwd = mkdtempSync(join(tmpdir(), 'hubcast-e2e-'));
  return new TestProcess(script, process.execPath, [join(REPO_ROOT, script), ...args], childEnv(env), cwd);
}

/** SIGKILL every child still running (call from `after`). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}
