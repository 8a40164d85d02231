/**
 * Heap per member of the presence tracker and the in-process store alone (no connections):
 * `n` joins of fake subscribers, heap used after a GC before and after, divided by `n`.
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
    diffMaxMembers: 50,
    publish: async () => undefined,
    logger: createLogger('silent'),
  });
  // Client ids as the gateway makes them (UUIDs); the subscribers themselves are the hub's, not counted.
  const subs = Array.from({ length: n }, () => ({ clientId: crypto.randomUUID(), userId: null }) as unknown as Subscriber);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (const s of subs) presence.joined(s, 'room:bench');
  await new Promise((r) => setImmediate(r)); // the store's puts
  gc();
  gc();
  const per = (process.memoryUsage().heapUsed - before) / n;
  await presence.close();
  return per;
}
