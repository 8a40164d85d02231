// Product updates through the TypeScript SDK, over WebSocket and SSE at once.
// Run after `npm run build`:  node --import tsx examples/sdk-products.ts [http://127.0.0.1:8000]
// Stop with Ctrl-C. Restart the gateway meanwhile: both clients reconnect and resume.
import { WSClient, createSSEClient, type EventFrame } from 'hubcast/client';

interface Product {
  id: number;
  name: string;
  price: number;
  stock: number;
  version: number;
}

const base = process.argv[2] ?? process.env.HUBCAST_URL ?? 'http://127.0.0.1:8000';

const ws = new WSClient(base);
ws.onStateChange(({ from, to, closeCode }) => console.log(`[ws] ${from} → ${to}${closeCode ? ` (${closeCode})` : ''}`));
ws.onMessage('event', (e: EventFrame<Product>) => {
  if (e.event === 'product.updated')
    console.log(`[ws]  #${e.id} ${e.data.name}: ${e.data.price} (stock ${e.data.stock})`);
});
ws.onMessage('recovery_failed', ({ channel }) => console.log(`[ws] missed events on ${channel}: refetch it`));
await ws.connect();
await ws.joinChannel('products');

const sse = createSSEClient(base, { channels: ['products'] });
sse.onStateChange(({ from, to }) => console.log(`[sse] ${from} → ${to}`));
sse.onEvent<Product>('product.updated', (e) =>
  console.log(`[sse] #${e.id} ${e.data.name}: ${e.data.price} (stock ${e.data.stock})`),
);
sse.onEvent('recovery_failed', () => console.log('[sse] missed events: refetch the catalog'));

process.once('SIGINT', () => {
  ws.disconnect();
  sse.close();
});
