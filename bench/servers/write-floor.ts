/**
 * The floor of a long-poll release (bench/poll-release.ts): a plain `net`
 * server that, when a connection sends `go\n`, writes one 300-byte buffer to
 * every other connection it accepted and answers `<ms>\n` on the asking one —
 * the time its write loop took. Run like the gateway (its own process, the same
 * node flags and CPU), so the comparison is one write per socket read by
 * another process, and nothing more. Prints `{"port": P, "pid": N}` once listening.
 */
import { createServer, type Socket } from 'node:net';

const BYTES = Buffer.alloc(300, 'x');
const readers = new Set<Socket>();

const server = createServer({ noDelay: true }, (socket) => {
  readers.add(socket);
  socket.on('close', () => readers.delete(socket));
  socket.on('error', () => readers.delete(socket));
  socket.on('data', (chunk: Buffer) => {
    if (!chunk.toString().startsWith('go')) return;
    readers.delete(socket);
    const start = performance.now();
    for (const reader of readers) reader.write(BYTES);
    socket.write(`${performance.now() - start}\n`);
  });
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 8192 }, () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ port, pid: process.pid })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
