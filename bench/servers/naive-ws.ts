/**
 * The floor: the fan-out a naive Node server reaches with the `ws` library —
 * one JSON.stringify per event, then `ws.send` to every subscriber (so every
 * subscriber gets its own frame and its own write). It speaks the subset of
 * hubcast's WS protocol the fan-out bench uses (`connected`, `join_channel`
 * with a `ref` reply, `channel_message`), so the same harness drives it.
 */
import { WebSocketServer, type WebSocket } from 'ws';

const channels = new Map<string, Set<WebSocket>>();
let nextId = 0;
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.env.PORT ?? 0),
  path: '/realtime/ws',
  perMessageDeflate: false,
});

wss.on('connection', (ws) => {
  const mine = new Set<string>();
  ws.send(JSON.stringify({ type: 'connected', client_id: String(++nextId), user_id: null }));
  ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw));
    if (msg.type === 'command' && msg.command === 'join_channel') {
      const name = msg.data.channel as string;
      let set = channels.get(name);
      if (!set) channels.set(name, (set = new Set()));
      set.add(ws);
      mine.add(name);
      ws.send(JSON.stringify({ type: 'reply', ref: msg.ref, ok: true, data: { channel: name } }));
    } else if (msg.type === 'channel_message') {
      const set = channels.get(msg.channel);
      const id = String(++nextId);
      const text = JSON.stringify({
        type: 'event',
        channel: msg.channel,
        event: 'message',
        id,
        data: { message: msg.message, user_id: null },
      });
      if (set) for (const sub of set) sub.send(text);
      ws.send(JSON.stringify({ type: 'reply', ref: msg.ref, ok: true, data: { id, delivered: set?.size ?? 0 } }));
    }
  });
  ws.on('close', () => {
    for (const name of mine) channels.get(name)?.delete(ws);
  });
});

wss.on('listening', () => {
  const a = wss.address() as { port: number };
  process.stdout.write(JSON.stringify({ port: a.port, pid: process.pid }) + '\n');
});
process.on('SIGTERM', () => {
  for (const c of wss.clients) c.terminate();
  wss.close(() => process.exit(0));
});
