/**
 * Which gateway nodes are alive now. Alone, that is this node; in a cluster,
 * every node keeps announcing itself (a heartbeat with an expiry) and one that
 * stops — crashed, cut off — drops out of the list once its entry expires.
 */
export interface NodeDirectory {
  readonly nodeId: string;
  /** The live nodes as last seen, this one always included. */
  live(): string[];
  /** `node` said it is leaving: stop listing it now rather than at the next heartbeat. */
  forget(node: string): void;
  /** Announce this node and learn the others (rejects when the store is unreachable). */
  start(): Promise<void>;
  isReady(): boolean;
  /** Leave the directory (others stop counting this node at once) and release what it holds. */
  close(): Promise<void>;
}

/** The directory of a gateway without a cluster: itself. */
export class LocalDirectory implements NodeDirectory {
  private readonly nodes: string[];

  constructor(readonly nodeId: string) {
    this.nodes = [nodeId];
  }

  live(): string[] {
    return [...this.nodes];
  }

  forget(): void {}

  async start(): Promise<void> {}

  isReady(): boolean {
    return true;
  }

  async close(): Promise<void> {}
}
