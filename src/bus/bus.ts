export type DurableRecovery =
  | { ok: true; entries: BusPublication[] }
  | { ok: false; reason: 'history_gap' | 'unknown_position' };

/**
 * A publication as it travels between gateway nodes: the id was assigned by
 * the cluster (one sequence for all nodes), `dataJson` is the serialized data,
 * `text` marks string data (SSE sends it raw).
 */
export interface BusPublication {
  id: number;
  channel: string;
  event: string;
  dataJson: string;
  text: boolean;
  publishedAt: number;
  /** The node that published it. */
  node: string;
}

/**
 * The cluster bus: every node receives every channel publication, in one
 * global id order, whichever node produced it. It also owns the durable,
 * cluster-wide history those ids index, so a client can resume on any node.
 */
export interface ClusterBus {
  readonly nodeId: string;
  /** Assign an id, keep the publication in durable history, and fan it out to every node. */
  publish(channel: string, event: string, dataJson: string, text: boolean): Promise<number>;
  /** Every publication, in id order, this node's own included. */
  onPublication(handler: (p: BusPublication) => void): void;
  /**
   * Called when the stream of publications may have had a gap (the bus
   * reconnected): whatever this node knew locally is no longer complete.
   */
  onGap(handler: () => void): void;
  /** Publications on `channel` after `afterId`, from durable history. */
  since(channel: string, afterId: number): Promise<DurableRecovery>;
  isReady(): boolean;
  close(): Promise<void>;
}
