/**
 * Heap per member of the presence tracker and the in-process store alone (no connections):
 * heap used after full GCs before and after `n` joins of fake subscribers, divided by `n`.
 * Measured on a second room after a first one of the same size, so one-time costs (code,
 * the first growth of the maps) stay out of the figure.
 * Needs `--expose-gc` (bench:presence passes it); without it the figure is NaN.
 */
import { Presence } from '../src/hub/presence.js';
import { MemoryPresenceStore } from '../src/hub/presence-memory.js';
import type { Subscriber } from '../src/hub/subscriber.js';
import { createLogger } from '../src/logger.js';

export async function trackerMemoryPerMember(n: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return NaN;
  const presence = new Presence(new MemoryPresenceStore(), {
    patterns: ['room:*'],
    nodeId: 'bench-node-1',
    ttlMs: 30_000,
    diffThreshold: 1e9, // no diff waiting: the entries alone
    diffIntervalMs: 60_000,
    diffMaxMembers: 10,
    publish: async () => undefined,
    logger: createLogger('silent'),
  });
  // Fresh subscribers, held by nobody but the joins: what stays is presence's own (and the client
  // id string, which a real gateway shares with the connection: about 56 B of the figure).
  const join = async (room: string) => {
    for (let i = 0; i < n; i++)
      presence.joined({ clientId: crypto.randomUUID(), userId: null } as unknown as Subscriber, room);
    await new Promise((r) => setImmediate(r)); // the store's puts
    for (let i = 0; i < 5; i++) gc();
  };
  await join('room:warm');
  const before = process.memoryUsage().heapUsed;
  await join('room:bench');
  const per = (process.memoryUsage().heapUsed - before) / n;
  await presence.close();
  return per;
}
