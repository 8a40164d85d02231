/**
 * bench:photo's peer: Debian's nginx serving the same photos as static files
 * from PHOTO_ROOT (`<root>/api/products/<id>/photo`, so the URLs are the
 * gateway's), ONE worker, sendfile and an open-file cache: the ceiling for
 * putting those bytes on a socket. Its own ETag and Last-Modified answer
 * revalidations with 304.
 *
 * nginx runs in the foreground (`daemon off`) with a prefix and config of its
 * own under $TMPDIR; pinning is inherited from this wrapper (taskset). Prints
 * `{"port": P, "pid": W}` with W the worker's pid, the process whose CPU the
 * bench measures (the master only supervises).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';
const ROOT = process.env.PHOTO_ROOT;
if (!ROOT) throw new Error('PHOTO_ROOT: the directory holding api/products/<id>/photo');

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'hubcast-bench-photo-nginx-'));
const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=1000 inactive=60s;
  types { }
  default_type image/png;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${ROOT};
    location / { add_header Cache-Control "public, max-age=60"; }
  }
}
`;
writeFileSync(join(dir, 'nginx.conf'), conf);
const master = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'inherit', 'inherit'] });

function workerPid(): number | null {
  try {
    const kids = readFileSync(`/proc/${master.pid}/task/${master.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return kids.length > 0 ? kids[0] : null;
  } catch {
    return null;
  }
}

function listening(): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
}

master.once('exit', (code, signal) => {
  process.stderr.write(`[photo-nginx] nginx exited (${signal ?? code}); log: ${dir}/error.log\n`);
  process.exit(1);
});
const deadline = Date.now() + 10_000;
let pid: number | null = null;
while (Date.now() < deadline) {
  pid = workerPid();
  if (pid !== null && (await listening())) break;
  await new Promise((r) => setTimeout(r, 50));
}
if (pid === null) throw new Error('photo-nginx: nginx did not start a worker within 10 s');
process.stdout.write(JSON.stringify({ port, pid }) + '\n');

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
