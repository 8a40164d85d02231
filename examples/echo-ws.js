#!/usr/bin/env node
// Prints every product update hubcast pushes over WebSocket.
// Usage: node examples/echo-ws.js [http://127.0.0.1:8000]   (or HUBCAST_URL)
// Plain JavaScript for Node >= 20; needs only the `ws` package.
import WebSocket from 'ws';

const base = process.argv[2] ?? process.env.HUBCAST_URL ?? 'http://127.0.0.1:8000';
const url = new URL('/realtime/ws', base.replace(/^ws/, 'http'));
url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
if (process.env.HUBCAST_TOKEN) url.searchParams.set('token', process.env.HUBCAST_TOKEN);

let lastId = null;
let attempt = 0;

function connect() {
  const ws = new WebSocket(url);
  ws.on('open', () => {
    attempt = 0;
    const data = lastId ? { channel: 'products', since: lastId } : { channel: 'products' };
    ws.send(JSON.stringify({ type: 'command', command: 'join_channel', data, ref: 'join' }));
  });
  ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw));
    if (msg.type === 'connected') console.error(`connected to ${url.origin} as ${msg.client_id}`);
    else if (msg.type === 'error') console.error(`error ${msg.code}: ${msg.message}`);
    else if (msg.type === 'event' && msg.event === 'product.updated') {
      lastId = msg.id;
      const p = msg.data;
      console.log(
        `product ${p.id} ${JSON.stringify(p.name)} price=${p.price.toFixed(2)} stock=${p.stock} version=${p.version}`,
      );
    } else if (msg.type === 'event' && msg.event === 'system' && msg.data?.type === 'recovery_failed') {
      console.error('missed updates could not be replayed; refetch GET /api/products');
    }
  });
  ws.on('close', (code) => {
    const delay = Math.min(10_000, 250 * 2 ** attempt++) * Math.random();
    console.error(`disconnected (${code}); reconnecting in ${Math.round(delay)} ms`);
    setTimeout(connect, delay);
  });
  ws.on('error', (err) => console.error(`websocket error: ${err.message}`));
}

connect();
