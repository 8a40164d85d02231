/**
 * Nchan peer: Debian's nginx 1.22 with libnginx-mod-nchan (the C module), ONE
 * worker process, in-memory channels. Subscribers: `GET /sub/<channel>` as a
 * WebSocket (raw text frames) or an EventSource stream; publisher: `POST
 * /pub?id=<channel>` (the reply comes after the message is queued and sent to
 * the worker's subscribers, with their count in `"subscribers"`).
 *
 * nginx runs through bench/lib/nginx.ts (foreground, own prefix, announces
 * the worker's pid). The packages are installed by the bench scripts
 * (`ensureNchan` in bench/lib/peers.ts), not here.
 */
import { runNginx } from '../lib/nginx.js';

const MODULE = process.env.NCHAN_MODULE ?? '/usr/lib/nginx/modules/ngx_nchan_module.so';

// 20,000 open files is the hard limit here; one worker holds every subscriber.
await runNginx({
  name: 'nchan',
  main: `load_module ${MODULE};\nworker_rlimit_nofile 20000;`,
  events: 'worker_connections 19900; multi_accept on;',
  http: (port) => `
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
  }`,
});
