/**
 * bench:photo's peer: Debian's nginx serving the same photos as static files
 * from PHOTO_ROOT (`<root>/api/products/<id>/photo`, so the URLs are the
 * gateway's), ONE worker, sendfile and an open-file cache: the ceiling for
 * putting those bytes on a socket. Its own ETag and Last-Modified answer
 * revalidations with 304.
 *
 * nginx runs through bench/lib/nginx.ts (foreground, own prefix, announces
 * the worker's pid); pinning is inherited from this wrapper (taskset).
 */
import { runNginx } from './lib/nginx.js';

const ROOT = process.env.PHOTO_ROOT;
if (!ROOT) throw new Error('PHOTO_ROOT: the directory holding api/products/<id>/photo');

await runNginx({
  name: 'photo-nginx',
  events: 'worker_connections 1024;',
  http: (port) => `
  sendfile on;
  tcp_nopush on;
  open_file_cache max=1000 inactive=60s;
  types { }
  default_type image/png;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${ROOT};
    location / { add_header Cache-Control "public, max-age=60"; }
  }`,
});
