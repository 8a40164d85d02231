import type { Hub } from '../../hub/hub.js';
import { Transport, type Subscriber } from '../../hub/subscriber.js';

/** Channels each node reports, biggest first: the cluster's top N is cut from their sums. */
export const REPORT_CHANNELS = 200;

export interface SlowClient {
  client_id: string;
  transport: 'websocket' | 'sse' | 'tcp';
  user_id: string | null;
  address: string | null;
  /** Bytes written to the connection and not yet taken by the client (the socket's queue). */
  buffered_bytes: number;
  /** CLIENT_BUFFER_BYTES: past it the client is dropped as a slow consumer. */
  buffer_limit_bytes: number;
  /** A resume's replay is still being written to it (live events wait behind it). */
  replaying: boolean;
  channels: number;
}

/** One node's answer to the admin question. */
export interface NodeReport {
  node_id: string;
  uptime_seconds: number;
  started_at: string;
  connections: { websocket: number; sse: number; tcp: number; long_poll: number; total: number };
  memory: { rss_bytes: number; heap_used_bytes: number; heap_total_bytes: number };
  /** Channels with a subscriber on this node. */
  channels: number;
  /** Up to REPORT_CHANNELS of them, biggest first: [name, subscribers]. */
  top_channels: Array<[string, number]>;
  /** The connections furthest behind, most buffered first. */
  slowest: SlowClient[];
  publications: number;
  messages_out: number;
}

export interface ReportSource {
  hub: Hub;
  nodeId: string;
  startedAt: number;
  bufferBytes: number;
  /** The node's stats (/realtime/stats). */
  stats(): Record<string, unknown>;
}

/** What the report reads of a connection beyond the hub's view (every transport's connection has these). */
interface Inspectable extends Subscriber {
  socket?: { writableLength: number };
  address?: string;
  replay?: unknown;
}

const WALKED: Array<[Transport, SlowClient['transport']]> = [
  [Transport.ws, 'websocket'],
  [Transport.sse, 'sse'],
  [Transport.sseMessage, 'sse'],
  [Transport.tcp, 'tcp'],
];

/** This node's figures; walks the connections once (only when an admin asks). */
export function nodeReport(source: ReportSource, slowest: number): NodeReport {
  const s = source.stats();
  const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : 0);
  const mem = process.memoryUsage();
  const channels = topK<[string, number]>(source.hub.channelSizes(), REPORT_CHANNELS, (c) => c[1]);
  const slow = topK<SlowClient>(slowClients(source), slowest, (c) => c.buffered_bytes);
  return {
    node_id: source.nodeId,
    uptime_seconds: Math.round((Date.now() - source.startedAt) / 1000),
    started_at: new Date(source.startedAt).toISOString(),
    connections: {
      websocket: num('websocket_count'),
      sse: num('sse_count'),
      tcp: num('tcp_count'),
      long_poll: num('long_poll_held'),
      total: num('connections') + num('long_poll_held'),
    },
    memory: { rss_bytes: mem.rss, heap_used_bytes: mem.heapUsed, heap_total_bytes: mem.heapTotal },
    channels: num('channels'),
    top_channels: channels.items,
    slowest: slow.items,
    publications: num('publications'),
    messages_out: num('messages_out'),
  };
}

function* slowClients(source: ReportSource): IterableIterator<SlowClient> {
  for (const [transport, name] of WALKED) {
    for (const sub of source.hub.connections(transport) as IterableIterator<Inspectable>) {
      yield {
        client_id: sub.clientId,
        transport: name,
        user_id: sub.userId,
        address: sub.address ?? null,
        buffered_bytes: sub.socket?.writableLength ?? 0,
        buffer_limit_bytes: source.bufferBytes,
        replaying: sub.replay !== null && sub.replay !== undefined,
        channels: sub.channels.size,
      };
    }
  }
}

/**
 * The `k` items of `all` with the biggest `score`, biggest first, in one pass
 * and `k` items of memory (a node may hold many channels and connections).
 */
export function topK<T>(all: Iterable<T>, k: number, score: (item: T) => number): { items: T[]; total: number } {
  const items: T[] = [];
  let total = 0;
  for (const item of all) {
    total++;
    if (k <= 0) continue;
    const v = score(item);
    if (items.length === k && v <= score(items[k - 1])) continue;
    let i = items.length === k ? k - 1 : items.length;
    while (i > 0 && score(items[i - 1]) < v) {
      items[i] = items[i - 1];
      i--;
    }
    items[i] = item;
  }
  return { items, total };
}
