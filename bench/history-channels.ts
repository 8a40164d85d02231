/**
 * Publish cost against the number of channels with history: a hub alone (no
 * subscribers, so no fan-out writes) whose history holds N channels, then
 * timed publishes of two kinds:
 *   existing  to channels already in history (the common case);
 *   fresh     to channel names never seen, each one evicting the least
 *             recently published-to channel (what a flood of new names costs).
 * Both should stay flat from 10 to 100,000 channels.
 *
 *   npm run bench:channels -- [--n 10,10000,100000] [--publishes 200000] [--smoke]
 *
 * Prints µs per publish per N and kind, and with --json the same as JSON.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Hub } from '../src/hub/hub.js';
import { MemoryHistory } from '../src/hub/history.js';
import { EventIdSequence } from '../src/hub/ids.js';
import { MemoryBus } from '../src/bus/memory.js';
import { createLogger } from '../src/logger.js';
import { RetentionPolicy } from '../src/hub/retention.js';

export interface ChannelsResult {
  channels: number;
  existingMicros: number;
  freshMicros: number;
}

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10,10000,100000' },
    publishes: { type: 'string', default: '200000' },
    smoke: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

const sizes = (values.smoke ? '10,10000' : values.n).split(',').map(Number);
const publishes = values.smoke ? 2000 : Number(values.publishes);
/** Keep a slow (old, scanning) run bounded: stop a phase after this long and count what it did. */
const PHASE_LIMIT_MS = values.smoke ? 2000 : 10_000;
const DATA = { sku: 'SKU-000123', price: 1999, stock: 12, name: 'a product of moderate name length' };

function hubWith(channels: number): Hub {
  const ids = new EventIdSequence();
  const retention = RetentionPolicy.parse(undefined, { count: 100, maxAgeMs: 0 });
  const history = new MemoryHistory({
    size: 100,
    maxChannels: channels,
    maxBytes: 64 * 1024 * 1024,
    floor: ids.floor,
    retention,
  });
  const hub = new Hub(history, new MemoryBus({ nodeId: 'bench', history, ids, log: createLogger('silent') }));
  for (let i = 0; i < channels; i++) void hub.publishEvent(`ch:${i}`, 'update', DATA);
  return hub;
}

/** Microseconds per publish of `publish(i)` for i = 0.., at most `publishes` or PHASE_LIMIT_MS. */
function time(publish: (i: number) => void): number {
  const started = performance.now();
  let i = 0;
  while (i < publishes) {
    publish(i++);
    if ((i & 63) === 0 && performance.now() - started > PHASE_LIMIT_MS) break;
  }
  return ((performance.now() - started) * 1000) / i;
}

const results: ChannelsResult[] = [];
for (const n of sizes) {
  const hub = hubWith(n);
  const existingMicros = time((i) => void hub.publishEvent(`ch:${(i * 7919) % n}`, 'update', DATA));
  const freshMicros = time((i) => void hub.publishEvent(`fresh:${i}`, 'update', DATA));
  if (hub.history.channelCount > n) throw new Error(`history holds ${hub.history.channelCount} channels, bound ${n}`);
  results.push({ channels: n, existingMicros, freshMicros });
}

if (values.json) console.log(JSON.stringify({ publishes, results }));
console.log('channels   existing µs/publish   fresh-name µs/publish');
for (const r of results) {
  console.log(
    `${String(r.channels).padStart(8)}   ${r.existingMicros.toFixed(2).padStart(19)}   ${r.freshMicros.toFixed(2).padStart(21)}`,
  );
}
