/**
 * Footprint benchmark (issue 17): memory and start-up time of the embedded
 * system, the figures an operator sizing a small VM needs.
 *
 * For each mode, a fresh DATA_DIR (first start: PGlite creates its database,
 * the catalog seeds 60 products with photos) and no DATABASE_URL / BROKER_URL
 * / REDIS_URL:
 * - `start`: what `npm start` runs, `dist/cli.js start` under the product's
 *   environment and node flags (npm execs node, so this process is the one
 *   that holds the memory);
 * - `gateway`: `hubcast gateway`, embedded, the same way.
 * The environment and flags are bin/hubcast.js's `#!/usr/bin/env -S` line
 * (bench/lib/launcher.ts), which `npm start` repeats; `--node-args` replaces
 * the flags, `--no-launcher-env` drops the environment.
 *
 * Printed per mode: `listening_ms` (spawn → the listening log line),
 * `first_update_ms` (spawn → the first `product.updated` on an SSE stream
 * opened as soon as the gateway listens; `start` only — the gateway alone has
 * no generator), `peak_mb` (VmHWM: the high-water mark of resident memory over
 * the whole run, first start included), `idle_mb` (VmRSS after --idle seconds
 * with one SSE client connected) and `restart_idle_mb` (a second start on the
 * same DATA_DIR, idle the same time; `restart_first_update_ms` the warm start).
 * A first start copies the data directory `npm run build` initialized
 * (dist/store/pglite-template); the last line is what making that template
 * costs, in its own short-lived process (`initdb_peak_mb`): paid at build time,
 * once per PGlite version, or on a first start when there is no template.
 *
 *   npm run bench:footprint -- [--idle 10] [--modes start,gateway] [--node-args "--max-semi-space-size=1"] [--no-launcher-env]
 *
 * Linux only (reads /proc). Needs `npm run build` first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { get } from 'node:http';
import { productLauncher } from './lib/launcher.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli.js');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const IDLE_S = Number(arg('idle', '10'));
const MODES = arg('modes', 'start,gateway').split(',');
const LAUNCHER = productLauncher(ROOT);
const NODE_ARGS = arg('node-args', LAUNCHER.nodeArgs.join(' ')).split(' ').filter(Boolean);
const LAUNCH_ENV = process.argv.includes('--no-launcher-env') ? {} : LAUNCHER.env;

function memKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : NaN;
}
const mb = (kb: number) => Math.round(kb / 1024);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      v === undefined ||
      ['DATABASE_URL', 'BROKER_URL', 'REDIS_URL', 'PORT', 'DATA_DIR', 'LOG_LEVEL', 'LOG_FORMAT'].includes(k)
    )
      continue;
    env[k] = v;
  }
  return { ...env, ...LAUNCH_ENV, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...extra };
}

interface Run {
  child: ChildProcess;
  started: number;
  listening: Promise<number>;
  exited: Promise<void>;
}

function launch(mode: string, dataDir: string, port: number): Run {
  const started = performance.now();
  const child = spawn(process.execPath, [...NODE_ARGS, CLI, mode], {
    cwd: dataDir,
    env: childEnv({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(dataDir, 'data') }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const listening = new Promise<number>((res, rej) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      if (buf.includes('"hubcast gateway listening"')) res(performance.now() - started);
      if (buf.length > 1 << 20) buf = buf.slice(-4096);
    });
    void exited.then(() => rej(new Error(`${mode} exited before listening`)));
  });
  return { child, started, listening, exited };
}

/** Open an SSE stream on `products`; resolves at the first product.updated, with the request to close later. */
function firstUpdate(port: number): { at: Promise<number>; close: () => void } {
  let close: () => void = () => {};
  const at = new Promise<number>((res, rej) => {
    const req = get({ host: '127.0.0.1', port, path: '/realtime/events?channels=products' }, (r) => {
      let buf = '';
      r.on('data', (c: Buffer) => {
        buf += c.toString('utf8');
        if (buf.includes('event: product.updated')) {
          res(performance.now());
          buf = '';
        }
        if (buf.length > 65536) buf = buf.slice(-1024);
      });
    });
    req.on('error', rej);
    close = () => req.destroy();
  });
  return { at, close: () => close() };
}

async function stop(run: Run): Promise<void> {
  run.child.kill('SIGTERM');
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 10_000);
  await run.exited;
  clearTimeout(timer);
}

async function measure(mode: string): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'hubcast-footprint-'));
  try {
    const port = await freePort();
    const run = launch(mode, dir, port);
    const pid = run.child.pid!;
    const listeningMs = await run.listening;
    const sse = firstUpdate(port);
    let firstUpdateMs: number | string = 'n/a';
    if (mode === 'start') {
      const at = await Promise.race([
        sse.at,
        new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no product.updated within 30 s')), 30_000)),
      ]);
      firstUpdateMs = Math.round(at - run.started);
    }
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const idle = memKb(pid, 'VmRSS');
    const peak = memKb(pid, 'VmHWM');
    sse.close();
    await stop(run);

    const again = launch(mode, dir, port);
    const relisten = await again.listening;
    const sse2 = firstUpdate(port);
    let restartFirstUpdateMs: number | string = 'n/a';
    if (mode === 'start') {
      const at = await Promise.race([
        sse2.at,
        new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no product.updated within 30 s')), 30_000)),
      ]);
      restartFirstUpdateMs = Math.round(at - again.started);
    }
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const restartIdle = memKb(again.child.pid!, 'VmRSS');
    const restartPeak = memKb(again.child.pid!, 'VmHWM');
    sse2.close();
    await stop(again);
    return {
      mode,
      listening_ms: Math.round(listeningMs),
      first_update_ms: firstUpdateMs,
      peak_mb: mb(peak),
      idle_mb: mb(idle),
      restart_listening_ms: Math.round(relisten),
      restart_first_update_ms: restartFirstUpdateMs,
      restart_peak_mb: mb(restartPeak),
      restart_idle_mb: mb(restartIdle),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** initdb in the child process src/store/pglite-init.ts, as the build (or a start without a template) runs it. */
async function initdbPeak(): Promise<{ initdb_ms: number; initdb_peak_mb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'hubcast-footprint-initdb-'));
  const script = join(ROOT, 'dist', 'store', 'pglite-init.js');
  // `node -e … -- dir` gives argv [node, dir]; the script reads argv[2].
  const code = `process.argv.splice(1, 0, 'pglite-init'); process.on('exit', () => console.log(process.resourceUsage().maxRSS)); await import(${JSON.stringify(script)});`;
  const started = performance.now();
  try {
    const out = await new Promise<string>((res, rej) => {
      const child = spawn(
        process.execPath,
        [...NODE_ARGS, '--input-type=module', '-e', code, '--', join(dir, 'pglite')],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let text = '';
      child.stdout!.on('data', (c: Buffer) => (text += c.toString('utf8')));
      child.once('exit', (status) => (status === 0 ? res(text) : rej(new Error(`pglite-init exited ${status}`))));
    });
    return {
      initdb_ms: Math.round(performance.now() - started),
      initdb_peak_mb: mb(Number(out.trim().split('\n').pop())),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
for (const mode of MODES) rows.push(await measure(mode));
console.table(rows);
const initdb = await initdbPeak();
console.log(
  `initdb in its own short-lived process (npm run build, or a first start without dist/store/pglite-template): ${initdb.initdb_ms} ms, peak ${initdb.initdb_peak_mb} MB`,
);
console.log(
  JSON.stringify({ node: process.version, node_args: NODE_ARGS, env: LAUNCH_ENV, idle_s: IDLE_S, rows, ...initdb }),
);
