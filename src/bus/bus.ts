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
  /**
   * Set when the publisher asked for a cluster-wide delivery count: every node
   * that delivers it answers this token to `node` with its own count (see
   * src/cluster/delivery-tally.ts). Absent otherwise, which costs nothing.
   */
  tally?: string;
}

/** `to` of a node message for every node but the sender (a cluster-wide question). */
export const EVERY_NODE = '*';

/**
 * What a node message is about: each topic has its own handlers, so the
 * WebRTC relay never sees a cluster question and the other way round.
 */
export type NodeTopic = 'signal' | 'ask' | 'reply' | 'leave';

/** A binary message as it travels between gateway nodes: not numbered, not kept (nothing resumes it). */
export interface BusBinary {
  channel: string;
  /** The binary message as the client sent it (header length, header, bytes). */
  payload: Buffer;
  /** The node that published it. */
  node: string;
}

/**
 * Publish-once guard: the publication goes out only if `version` is above the
 * highest version already published on the channel under `key` (a product id:
 * its versions rise by one per applied change). A retried or redelivered
 * publish of the same state is then a no-op, cluster-wide, in the same atomic
 * step that assigns the id; clients never get one version twice.
 */
export interface PublishOnce {
  key: string;
  version: number;
}

/**
 * The cluster bus: every node receives every channel publication, in one
 * global id order, whichever node produced it. It also owns the durable,
 * cluster-wide history those ids index, so a client can resume on any node.
 *
 * One driver per file, chosen once at boot (index.ts): Redis (redis.ts) when
 * nodes share REDIS_URL, the in-process bus (memory.ts) when the gateway
 * runs alone. The hub and the gateway see only this interface.
 */
export interface ClusterBus {
  readonly nodeId: string;
  /**
   * Other nodes share this bus: a client can resume on any of them, and a
   * publish can fail for want of the bus (Redis unreachable) and be retried.
   * False for the in-process bus: this process is the whole cluster.
   */
  readonly clustered: boolean;
  /** Connect (and read back what a graceful shutdown kept); rejects when the bus cannot be reached. */
  start(): Promise<void>;
  /**
   * Assign an id, keep the publication in durable history, and fan it out to
   * every node. With `once`: resolves `null` (nothing published) when that
   * version, or a later one, was published already. With `tally`: the
   * publication carries it (see `BusPublication.tally`).
   */
  publish(
    channel: string,
    event: string,
    dataJson: string,
    text: boolean,
    once?: PublishOnce,
    tally?: string,
  ): Promise<number | null>;
  /** Every publication, in id order, this node's own included. */
  onPublication(handler: (p: BusPublication) => void): void;
  /** Send a binary message to every other node (best effort, like the WS delivery itself). */
  publishBinary(channel: string, payload: Buffer): Promise<void>;
  /** Every binary message, this node's own included (its `node` says whose). */
  onBinary(handler: (b: BusBinary) => void): void;
  /**
   * Send `body` to node `to` (best effort: not numbered, not kept; lost while
   * that node is away from the bus), or to every other node with `EVERY_NODE`.
   * Used for what concerns one node's connections, such as a WebRTC signal to
   * a peer it holds (topic `signal`, the default), and for cluster questions.
   */
  sendToNode(to: string, body: string, topic?: NodeTopic): Promise<void>;
  /** Every message on `topic` (default `signal`) sent to this node by another (never its own). */
  onNodeMessage(handler: (from: string, body: string) => void, topic?: NodeTopic): void;
  /**
   * Called when the stream of publications may have had a gap (the bus
   * reconnected): whatever this node knew locally is no longer complete.
   * `resubscribed` settles once the subscription is confirmed again and
   * history can be read without missing what is published meanwhile.
   */
  onGap(handler: (resubscribed: Promise<void>) => void): void;
  /** The newest id handed out cluster-wide: a new node's starting position. */
  currentId(): Promise<number>;
  /**
   * Publications on `channel` after `afterId`, from durable history; refused
   * (`unknown_position`) when `afterId` is not in the history's epoch or past
   * the newest id, (`history_gap`) when history no longer reaches back to it.
   */
  since(channel: string, afterId: number): Promise<DurableRecovery>;
  isReady(): boolean;
  close(): Promise<void>;
}
