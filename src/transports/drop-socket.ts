import type { Duplex } from 'node:stream';

/**
 * The reason every socket the server drops is destroyed with: one shared,
 * preallocated error.
 *
 * A socket dropped with writes still queued in user space (a slow consumer
 * at its CLIENT_BUFFER_BYTES holds one queued write per fan-out turn, ~1,000
 * of them) has each of them failed when its handle closes. `destroy()`
 * without an error makes Node build a fresh ERR_STREAM_DESTROYED for every
 * one (stack capture and message formatting, ~8 µs each: ~8 ms per socket,
 * 0.4 s for 50 dropped together, measured on the stalled-clients test);
 * `destroy(err)` hands them all `err`. The socket emits `'error'` once with
 * it: both transports' sockets have a listener that ignores it.
 */
export const SOCKET_DROPPED = new Error('connection dropped by the server');

/** Destroy `socket` now, failing what it still has queued with the shared error. */
export function dropSocket(socket: Duplex): void {
  if (!socket.destroyed) socket.destroy(SOCKET_DROPPED);
}
