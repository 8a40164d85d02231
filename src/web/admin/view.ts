import type { Gathered } from '../../cluster/gather.js';
import { topK, type NodeReport } from './report.js';

export interface ChannelRow {
  channel: string;
  /** Subscribers on every node that answered. */
  subscribers: number;
  /** Nodes with at least one of them. */
  nodes: number;
}

/** What GET /admin/cluster answers: every node's report, channels summed over the cluster. */
export interface ClusterView {
  /** The node that gathered this answer. */
  node: string;
  /** When the nodes were asked. */
  generated_at: string;
  nodes_asked: number;
  nodes_answered: number;
  /** Live nodes that did not answer in time, and those that answered with an error. */
  missing: string[];
  errors: Record<string, string>;
  /** One entry per node that answered, by id; `slowest` is per node. */
  nodes: Array<Omit<NodeReport, 'top_channels'>>;
  /** The biggest channels cluster-wide, from each node's REPORT_CHANNELS biggest. */
  channels: ChannelRow[];
}

/** Add the nodes' channel counts up and keep the `top` biggest; reports are listed by node id. */
export function clusterView(
  self: string,
  gathered: Gathered<NodeReport>,
  top: number,
  askedAt = Date.now(),
): ClusterView {
  const reports = [...gathered.replies.values()].sort((a, b) =>
    a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0,
  );
  const sums = new Map<string, ChannelRow>();
  for (const r of reports) {
    for (const [channel, n] of r.top_channels) {
      const row = sums.get(channel);
      if (row === undefined) sums.set(channel, { channel, subscribers: n, nodes: 1 });
      else {
        row.subscribers += n;
        row.nodes++;
      }
    }
  }
  return {
    node: self,
    generated_at: new Date(askedAt).toISOString(),
    nodes_asked: gathered.nodes.length,
    nodes_answered: reports.length,
    missing: gathered.missing,
    errors: Object.fromEntries(gathered.errors),
    nodes: reports.map(({ top_channels: _omit, ...rest }) => rest),
    channels: topK(sums.values(), top, (r) => r.subscribers).items,
  };
}
