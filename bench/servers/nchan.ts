/**
 * Nchan peer: Debian's nginx 1.22 with libnginx-mod-nchan (the C module), ONE
 * worker process, in-memory channels. Subscribers: `GET /sub/<channel>` as a
 * WebSocket (raw text frames) or an EventSource stream; publisher: `POST
 * /pub?id=<channel>` (the reply comes after the message is queued and sent to
 * the worker's subscribers, with their count in `"subscribers"`).
 *
 * nginx is started here, in the foreground (`daemon off`), with a prefix and a
 * config of its own under $TMPDIR. Prints `{"port": P, "pid": W}` where W is
 * the worker's pid: the process whose CPU and RSS the bench measures (the
 * master only supervises). The packages are installed by the bench scripts
 * (`ensureNchan` in bench/lib/peers.ts), not here.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MODULE = process.env.NCHAN_MODULE ?? '/usr/lib/nginx/modules/ngx_nchan_module.so';
const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const port = Number(process.env.PORT ?? 0) || (await freePort());
const dir = mkdtempSync(join(tmpdir(), 'hubcast-bench-nchan-'));
// 20,000 open files is the hard limit here; one worker holds every subscriber.
const conf = `
load_module ${MODULE};
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 19900; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  nchan_shared_memory_size 256m;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location ~ ^/sub/(.+)$ {
      nchan_subscriber websocket eventsource;
      nchan_channel_id $1;
    }
    location = /pub {
      nchan_publisher http;
      nchan_channel_id $arg_id;
      # A subscriber more than this many messages behind loses the older ones
      # (seen at 9k with 16): above the harness's lag bound (64) + window (8).
      nchan_message_buffer_length 256;
    }
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

async function listening(): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
}

master.once('exit', (code, signal) => {
  process.stderr.write(`[nchan] nginx exited (${signal ?? code}); log: ${dir}/error.log\n`);
  process.exit(1);
});
const deadline = Date.now() + 10_000;
let pid: number | null = null;
while (Date.now() < deadline) {
  pid = workerPid();
  if (pid !== null && (await listening())) break;
  await new Promise((r) => setTimeout(r, 50));
}
if (pid === null) throw new Error('nchan: nginx did not start a worker within 10 s');
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
