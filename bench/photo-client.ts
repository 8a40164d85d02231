/**
 * Load generator of bench:photo, forked by bench/photo.ts (pinned to the
 * client CPU): autocannon's programmatic API, in this process only, so the
 * orchestrator and the server never share its event loop.
 *
 * Every request asks for the next product id of ONE counter shared by all
 * connections, so the ids cycle 1..N in order across the whole phase (with
 * per-connection counters, ten connections would each walk the ring and keep
 * hitting the same few keys at once). Each response's `X-Cache` header is
 * counted, so the table shows the hit ratio a phase really had, and its
 * latency is recorded with µs resolution (autocannon's own histogram keeps
 * whole milliseconds).
 */
import { createRequire } from 'node:module';
import { Histogram } from './lib/measure.js';

/** The part of autocannon 9's API used here (the package ships no types). */
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  setupRequest?: (req: AutocannonRequest, context: object) => AutocannonRequest;
  onResponse?: (status: number, body: string, context: object, headers: Record<string, string | string[]>) => void;
}
interface AutocannonResult {
  requests: { total: number; average: number };
  throughput: { total: number; average: number };
  latency: { p50: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}
interface AutocannonInstance {
  on(event: 'response', fn: (client: unknown, status: number, resBytes: number, responseTimeMs: number) => void): void;
}
type Autocannon = (
  opts: { url: string; connections: number; duration: number; pipelining?: number; requests: AutocannonRequest[] },
  cb: (err: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as Autocannon;

// autocannon 9 appends every response body to a JS string (`body += chunk`,
// decoding the bytes as UTF-8) in case a verifier wants it: ~0.9 ms of client
// CPU per 55 KB photo in a trial, which held nginx to ~1,000 requests/s on one
// core — the harness, not the server, was measured. Nothing here looks at bodies (byte counts come from the
// socket), so that append is turned off. Internal module of the exact version
// pinned in package.json: checked, so an upgrade that moves it fails loudly.
const queue = require('autocannon/lib/pipelinedRequestsQueue.js') as {
  prototype: { addBody?: (data: Buffer) => void };
};
if (typeof queue.prototype.addBody !== 'function')
  throw new Error('autocannon: PipelinedRequestsQueue.addBody not found (version changed?)');
queue.prototype.addBody = function addBody() {};

export type PhotoParentMessage =
  | {
      cmd: 'run';
      port: number;
      /** Product ids to cycle through, in order. */
      ids: number[];
      connections: number;
      seconds: number;
      /** When set, `If-None-Match` per id (same order as `ids`): a revalidation phase. */
      etags?: string[];
    }
  | { cmd: 'exit' };

export interface PhotoReport {
  type: 'report';
  requests: number;
  /** Response status → count. */
  statuses: Record<string, number>;
  hit: number;
  miss: number;
  /** Responses without an X-Cache header (the peer, and 304s). */
  noCacheHeader: number;
  bytes: number;
  seconds: number;
  errors: number;
  timeouts: number;
  hist: { counts: number[]; max: number; sum: number };
  /** autocannon's own figures, kept in the JSON for comparison (whole ms). */
  autocannon: { p50: number; p99: number; max: number; reqPerSecAvg: number };
}

export type PhotoWorkerMessage = { type: 'begin' } | PhotoReport | { type: 'error'; error: string };

function xCache(headers: Record<string, string | string[]>): string | undefined {
  // autocannon keeps the header names as sent; hubcast sends `X-Cache`.
  for (const k in headers) if (k.length === 7 && k.toLowerCase() === 'x-cache') return String(headers[k]);
  return undefined;
}

function run(m: Extract<PhotoParentMessage, { cmd: 'run' }>): void {
  let next = 0;
  let hit = 0;
  let miss = 0;
  let noCacheHeader = 0;
  let bytes = 0;
  const statuses: Record<string, number> = {};
  const hist = new Histogram();
  const paths = m.ids.map((id) => `/api/products/${id}/photo`);
  const request: AutocannonRequest = {
    method: 'GET',
    setupRequest: (req): AutocannonRequest => {
      const i = next++ % paths.length;
      const headers: Record<string, string> = m.etags ? { 'if-none-match': m.etags[i]! } : {};
      return { ...req, path: paths[i]!, headers };
    },
    onResponse: (_status, _body, _ctx, headers) => {
      const c = xCache(headers);
      if (c === 'HIT') hit++;
      else if (c === 'MISS') miss++;
      else noCacheHeader++;
    },
  };
  process.send!({ type: 'begin' } satisfies PhotoWorkerMessage);
  const t0 = performance.now();
  const instance = autocannon(
    {
      url: `http://127.0.0.1:${m.port}`,
      connections: m.connections,
      duration: m.seconds,
      pipelining: 1,
      requests: [request],
    },
    (err, result) => {
      const seconds = (performance.now() - t0) / 1000;
      if (err) {
        process.send!({ type: 'error', error: err.message } satisfies PhotoWorkerMessage);
        return;
      }
      const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
      process.send!({
        type: 'report',
        requests,
        statuses,
        hit,
        miss,
        noCacheHeader,
        bytes,
        seconds,
        errors: result.errors,
        timeouts: result.timeouts,
        hist: hist.toJSON(),
        autocannon: {
          p50: result.latency.p50,
          p99: result.latency.p99,
          max: result.latency.max,
          reqPerSecAvg: result.requests.average,
        },
      } satisfies PhotoWorkerMessage);
    },
  );
  instance.on('response', (_client, status, resBytes, ms) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    bytes += resBytes;
    hist.record(ms * 1000);
  });
}

process.on('message', (m: PhotoParentMessage) => {
  if (m.cmd === 'run') run(m);
  else if (m.cmd === 'exit') process.exit(0);
});
