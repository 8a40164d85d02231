import type { Hub, PublishResult } from '../hub/hub.js';
import type { ClusterNodes } from './cluster.js';

/** Longest a publish asking for the cluster-wide count waits for the nodes' answers. */
export const TALLY_TIMEOUT_MS = 1000;

export interface ClusterPublishResult extends PublishResult {
  /** Connections the event was queued for on every node that answered, this one included. */
  deliveredCluster: number;
  /** Nodes asked (the live ones) plus any other that answered. */
  nodes: number;
  /** Nodes whose count is in `deliveredCluster`; below `nodes` the figure is a lower bound. */
  nodesAnswered: number;
}

/**
 * The cluster-wide delivery count of one publication, for a publisher that
 * asks for it. The publication carries a token over the bus; every node that
 * delivers it counts the connections it queued it for — a figure the fan-out
 * has at hand — and sends that one number back to the publishing node, which
 * adds them up as they come, waiting at most TALLY_TIMEOUT_MS. A publication
 * without a token (every other one) costs nothing more than before.
 */
export class DeliveryTally {
  constructor(
    private readonly hub: Hub,
    private readonly cluster: ClusterNodes,
    /** False alone: the hub's own count is the whole cluster's. */
    private readonly clustered: boolean,
    private readonly timeoutMs = TALLY_TIMEOUT_MS,
  ) {
    if (clustered) hub.tallied = (p, delivered) => cluster.replyTo(p.node, p.tally!, delivered);
  }

  async publish(channel: string, event: string, data: unknown): Promise<ClusterPublishResult> {
    if (!this.clustered) {
      const r = await this.hub.publishEvent(channel, event, data);
      return { ...r, deliveredCluster: r.delivered, nodes: 1, nodesAnswered: 1 };
    }
    const round = this.cluster.expect<number>(this.timeoutMs);
    let result: PublishResult;
    try {
      result = await this.hub.publishEvent(channel, event, data, round.token);
    } catch (err) {
      round.cancel();
      throw err;
    }
    const gathered = await round.done;
    let deliveredCluster = 0;
    for (const n of gathered.replies.values()) if (typeof n === 'number') deliveredCluster += n;
    return { ...result, deliveredCluster, nodes: gathered.nodes.length, nodesAnswered: gathered.replies.size };
  }
}
