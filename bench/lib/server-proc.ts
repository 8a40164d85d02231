/**
 * Starting a bench server in its own process (pinned to CPU 0 when taskset is
 * available) and stopping it. A server script prints one JSON line with its
 * `port` on stdout once it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { canPin } from './measure.js';
import { ROOT, stopChild } from './harness.js';
import { productLauncher } from './launcher.js';

/** The environment and node flags `hubcast gateway` (bin/hubcast.js) and `npm start` run with. */
export const PRODUCT_LAUNCHER = productLauncher(ROOT);

/** `BENCH_SERVER_NODE_ARGS` (e.g. to add `--cpu-prof`), else the product's flags. */
export function benchServerNodeArgs(): string[] {
  return process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? PRODUCT_LAUNCHER.nodeArgs;
}

export interface ServerProc {
  name: string;
  port: number;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface ServerSpec {
  name: string;
  /** argv after `node`. */
  args: string[];
  env?: Record<string, string>;
  /** CPU to pin to (undefined: no pinning). */
  cpu?: number;
  nodeArgs?: string[];
}

export async function startServer(spec: ServerSpec): Promise<ServerProc> {
  const nodeArgv = [...(spec.nodeArgs ?? []), ...spec.args];
  const pinned = spec.cpu !== undefined && canPin();
  const [cmd, argv] = pinned
    ? ['taskset', ['-c', String(spec.cpu), process.execPath, ...nodeArgv]]
    : [process.execPath, nodeArgv];
  const child = spawn(cmd, argv as string[], {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  let announcedPid: number | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spec.name}: no port announced within 20 s`)), 20_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${spec.name}: exited before listening (${signal ?? code})`));
    });
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { port?: number; pid?: number };
        if (typeof msg.port === 'number') {
          announcedPid = msg.pid;
          clearTimeout(timer);
          resolve(msg.port);
        }
      } catch {
        process.stderr.write(`[${spec.name}] ${line}\n`);
      }
    });
  });
  child.removeAllListeners('exit');
  return {
    name: spec.name,
    port,
    // taskset execs node in place: the child's pid is the server's, unless the
    // script announces another (nchan: the nginx worker, not the wrapper).
    pid: announcedPid ?? child.pid!,
    child,
    stop: () => stopChild(child),
  };
}
