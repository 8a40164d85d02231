#!/usr/bin/env node
// Prints every product update hubcast pushes over Server-Sent Events.
// Usage: node examples/echo-sse.js [http://127.0.0.1:8000]   (or HUBCAST_URL)
// Plain JavaScript for Node >= 20; needs only the `eventsource` package
// (browsers have EventSource built in: the same code works in a console).
import { EventSource } from 'eventsource';

const base = process.argv[2] ?? process.env.HUBCAST_URL ?? 'http://127.0.0.1:8000';
const url = new URL('/realtime/events', base);
url.searchParams.set('channels', 'products');
if (process.env.HUBCAST_TOKEN) url.searchParams.set('token', process.env.HUBCAST_TOKEN);

const es = new EventSource(url);
es.addEventListener('system', (e) => {
  const msg = JSON.parse(e.data);
  if (msg.type === 'connected') console.error(`connected to ${url.origin} as ${msg.client_id}`);
  if (msg.type === 'recovery_failed') console.error('missed updates could not be replayed; refetch GET /api/products');
});
es.addEventListener('product.updated', (e) => {
  const p = JSON.parse(e.data);
  console.log(
    `product ${p.id} ${JSON.stringify(p.name)} price=${p.price.toFixed(2)} stock=${p.stock} version=${p.version}`,
  );
});
es.onerror = () => console.error('stream interrupted; EventSource reconnects with Last-Event-ID');
