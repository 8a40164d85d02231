/**
 * Running Debian's nginx as a bench peer: in the foreground (`daemon off`),
 * ONE worker, with a prefix and config of its own under $TMPDIR, removed on
 * SIGTERM/SIGINT. Announces `{"port": P, "pid": W}` on stdout (what
 * bench/lib/server-proc.ts waits for), W being the worker's pid: the process
 * whose CPU and RSS the benches measure (the master only supervises).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './harness.js';

const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

export interface NginxPeer {
  /** Log prefix and temp-dir name. */
  name: string;
  /** Lines before `events` (load_module, worker_rlimit_nofile). */
  main?: string;
  /** The `events` block's contents. */
  events: string;
  /** `http` directives and the `server` block; `port` is where to listen. */
  http(port: number): string;
}

export async function runNginx(peer: NginxPeer): Promise<void> {
  const port = Number(process.env.PORT ?? 0) || (await freePort());
  const dir = mkdtempSync(join(tmpdir(), `hubcast-bench-${peer.name}-`));
  const conf = `
${peer.main ?? ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { ${peer.events} }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
${peer.http(port)}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const master = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  master.once('exit', (code, signal) => {
    process.stderr.write(`[${peer.name}] nginx exited (${signal ?? code}); log: ${dir}/error.log\n`);
    process.exit(1);
  });

  const workerPid = (): number | null => {
    try {
      const kids = readFileSync(`/proc/${master.pid}/task/${master.pid}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
      return kids.length > 0 ? kids[0] : null;
    } catch {
      return null;
    }
  };
  const listening = (): Promise<boolean> =>
    new Promise((res) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
  const deadline = Date.now() + 10_000;
  let pid: number | null = null;
  while (Date.now() < deadline) {
    pid = workerPid();
    if (pid !== null && (await listening())) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (pid === null) throw new Error(`${peer.name}: nginx did not start a worker within 10 s`);
  process.stdout.write(`${JSON.stringify({ port, pid })}\n`);

  const stop = () => {
    master.removeAllListeners('exit');
    master.once('exit', () => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
    master.kill('SIGTERM'); // nginx: fast shutdown
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
