/**
 * Acknowledged delivery, in process: the hub's fan-out to N subscribers with
 * `ack` off (the ordinary path: the same code with or without src/ack/) and
 * with `ack: true` on every one (each an AckSubscription noting ids and
 * keeping the window), writes going to a sink that counts bytes. Prints
 * deliveries/s and server µs per delivery for both.
 *
 *   node --import tsx bench/ack.ts [--n 5000] [--events 200]
 */
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { Hub } from '../src/hub/hub.js';
import { MemoryHistory } from '../src/hub/history.js';
import { EventIdSequence } from '../src/hub/ids.js';
import { MemoryBus } from '../src/bus/memory.js';
import { createLogger } from '../src/logger.js';
import { Transport, type Subscriber } from '../src/hub/subscriber.js';
import { Acks, ACK_WINDOW, type AckConnection } from '../src/ack/acks.js';
import { MemoryAckPositions } from '../src/ack/positions.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const N = arg('n', 5000);
const EVENTS = arg('events', 200);
const ROUNDS = 5;

let bytes = 0;
class Sink implements Subscriber, AckConnection {
  readonly transport = Transport.ws;
  readonly channels = new Set<string>();
  fanoutMark = 0;
  fanoutChangedAt = 0;
  readonly socket = new PassThrough();
  readonly bufferBytes = 1 << 30;
  replay = null;
  constructor(
    readonly clientId: string,
    readonly userId: string | null,
  ) {}
  write(chunk: Buffer): void {
    bytes += chunk.length;
  }
  dropSlow(): void {
    throw new Error('dropped');
  }
}

function run(ack: boolean): number {
  const ids = new EventIdSequence();
  const history = new MemoryHistory({ size: 1000, floor: ids.floor });
  const hub = new Hub(history, new MemoryBus({ nodeId: 'bench', history, ids, log: createLogger('silent') }));
  const acks = new Acks({
    timeoutMs: 600_000,
    window: ACK_WINDOW,
    positions: new MemoryAckPositions(),
    detach: (s) => hub.removeConnection(s),
  });
  const subs = [];
  for (let i = 0; i < N; i++) {
    const conn = new Sink(`c${i}`, null);
    if (ack) {
      const sub = acks.open(conn, 'bench');
      void hub.join(sub, ['bench'], null);
      subs.push(sub);
    } else {
      void hub.join(conn, ['bench'], null);
    }
  }
  const data = { price: 12.5, sku: 'A-1', name: 'widget' };
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let e = 0; e < EVENTS; e++) {
      void hub.publishEvent('bench', 'tick', data);
      hub.flush(); // one write per event per subscriber: the unbatched worst case
    }
    const ms = performance.now() - t0;
    best = Math.min(best, ms);
    // Acknowledge everything so the window never fills.
    if (ack) for (const s of subs) s.ack(Number.MAX_SAFE_INTEGER);
  }
  acks.close();
  return best;
}

// Warm up both paths, then measure.
run(false);
run(true);
const off = run(false);
const on = run(true);
const deliveries = N * EVENTS;
for (const [name, ms] of [
  ['ack off', off],
  ['ack on', on],
] as const) {
  console.log(
    `${name}: ${N} subscribers x ${EVENTS} events: ${ms.toFixed(1)} ms, ${(deliveries / (ms / 1000) / 1e6).toFixed(2)} M deliveries/s, ${((ms * 1000) / deliveries).toFixed(3)} µs per delivery`,
  );
}
console.log(`bytes written ${bytes}`);
