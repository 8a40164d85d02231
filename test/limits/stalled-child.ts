// A gateway in its own process for the slow-consumer test (stalled-clients.serial.test.ts):
// RSS is the server's alone, and the event stream is published inside it on a
// steady clock, so a delivery's latency is measured from the moment of publish.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startGateway } from '../helpers/gateway.js';

const overrides = JSON.parse(process.argv[2] ?? '{}');
const gw = await startGateway(overrides);
const hub = gw.gateway.hub;
const now = () => performance.timeOrigin + performance.now();

/** Resident set size now and its peak so far (Linux /proc), in bytes. */
function rss(): { rss: number; hwm: number } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: process.memoryUsage().rss, hwm: 0 }; // not Linux: the current value only
  }
}

interface StreamRequest {
  ms: number;
  /** `ticks` events per second (~200 bytes each: what live clients measure). */
  rate: number;
  /** `bulk` events per second and their size (fills stalled clients' kernel buffers fast). */
  bulkRate: number;
  bulkBytes: number;
}

let peak = 0;
const sampler = setInterval(() => {
  const r = rss().rss;
  if (r > peak) peak = r;
}, 20).unref();

async function stream(req: StreamRequest): Promise<number> {
  const started = now();
  let ticks = 0;
  let bulk = 0;
  const pad = 'x'.repeat(140);
  const bulkPad = 'b'.repeat(req.bulkBytes);
  await new Promise<void>((resolve) => {
    // Every 2 ms, catch up to where the clock says the streams should be: a steady rate, no drift.
    const timer = setInterval(() => {
      const elapsed = now() - started;
      const due = Math.min(Math.floor((elapsed * req.rate) / 1000), Math.floor((req.ms * req.rate) / 1000));
      while (ticks < due) hub.publishNow('ticks', 'tick', { seq: ++ticks, t: now(), pad });
      const bulkDue = Math.floor((Math.min(elapsed, req.ms) * req.bulkRate) / 1000);
      while (bulk < bulkDue) hub.publishNow('bulk', 'bulk', { n: ++bulk, pad: bulkPad });
      if (elapsed >= req.ms) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  return ticks;
}

process.on('message', async (m: { type: string } & Partial<StreamRequest> & { channels?: string[] }) => {
  if (m.type === 'stream') {
    peak = 0;
    const ticks = await stream(m as StreamRequest);
    process.send!({ type: 'streamed', ticks, peak, ...rss() });
  } else if (m.type === 'state') {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (m.channels === undefined) {
      gc?.();
      gc?.();
    }
    process.send!({
      type: 'state',
      ...rss(),
      stats: gw.gateway.stats(),
      subscribers: Object.fromEntries((m.channels ?? []).map((c) => [c, hub.subscriberCount(c)])),
    });
  } else if (m.type === 'stop') {
    clearInterval(sampler);
    await gw.close();
    process.send!({ type: 'stopped' }, () => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', url: gw.url });
