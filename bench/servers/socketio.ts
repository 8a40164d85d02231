/**
 * Socket.IO peer: rooms as channels, `io.to(room).emit(...)` for fan-out (the
 * packet is encoded once per broadcast by the default adapter). WebSocket
 * transport only, no per-message compression. Events: `join(room, ack)`,
 * `publish(room, message, ack)`; subscribers get `message` events.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
let nextId = 0;

io.on('connection', (socket) => {
  socket.on('join', (room: string, ack?: (r: unknown) => void) => {
    void socket.join(room);
    ack?.({ ok: true });
  });
  socket.on('publish', (room: string, message: unknown, ack?: (r: unknown) => void) => {
    const id = String(++nextId);
    io.to(room).emit('message', { channel: room, id, data: { message } });
    ack?.({ id, delivered: io.sockets.adapter.rooms.get(room)?.size ?? 0 });
  });
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const a = http.address() as { port: number };
  process.stdout.write(JSON.stringify({ port: a.port, pid: process.pid }) + '\n');
});
process.on('SIGTERM', () => {
  io.close();
  process.exit(0);
});
