import type { Logger } from '../logger.js';
import type { BusBinary, BusPublication, ClusterBus, DurableRecovery, PublishOnce } from './bus.js';
import { EventIdSequence } from '../hub/ids.js';
import type { MemoryHistory } from '../hub/history.js';
import { restoreHistorySnapshot, saveHistorySnapshot } from '../hub/history-snapshot.js';

export interface MemoryBusOptions {
  nodeId: string;
  /**
   * This process's history, which the hub appends every publication to as it
   * delivers it: alone, it is the whole history, so the bus reads resumes from it.
   */
  history: MemoryHistory;
  /** The id sequence (its `floor` is where `history` starts to cover); a new one when omitted. */
  ids?: EventIdSequence;
  /**
   * Where the history is saved on `close` and read back (once) on `start`, so a
   * graceful restart keeps every resume position valid. No snapshot when omitted.
   */
  dataDir?: string;
  log: Logger;
}

const DONE: Promise<void> = Promise.resolve();

/**
 * The bus of a gateway that runs alone: one process is the whole cluster.
 * Ids come from the process's clock-seeded sequence; every publication is
 * handed to the handlers before `publish` returns (in the publisher's turn,
 * so it is queued for this turn's fan-out exactly as a direct call would);
 * durable history is the process's own history, kept across a graceful
 * restart by a snapshot in DATA_DIR. Nothing reconnects, so there is never a gap.
 */
export class MemoryBus implements ClusterBus {
  readonly nodeId: string;
  readonly clustered = false;
  private readonly ids: EventIdSequence;
  private readonly history: MemoryHistory;
  private readonly dataDir: string | undefined;
  private readonly log: Logger;
  private handlers: Array<(p: BusPublication) => void> = [];
  private binaryHandlers: Array<(b: BusBinary) => void> = [];
  /** Highest version published per channel and once-key (publish-once guard). */
  private readonly onceVersions = new Map<string, number>();
  private closed = false;

  constructor(options: MemoryBusOptions) {
    this.nodeId = options.nodeId;
    this.history = options.history;
    this.ids = options.ids ?? new EventIdSequence();
    this.dataDir = options.dataDir;
    this.log = options.log;
  }

  /** Reads back the snapshot a graceful shutdown left (and deletes it: a later crash cannot reuse it). */
  async start(): Promise<void> {
    if (this.dataDir === undefined) return;
    const restored = await restoreHistorySnapshot(this.dataDir, this.history, this.ids);
    if (restored > 0) this.log.info({ events: restored }, 'history restored from the last graceful shutdown');
  }

  publish(channel: string, event: string, dataJson: string, text: boolean, once?: PublishOnce): Promise<number | null> {
    if (once !== undefined) {
      const key = `${channel}\u0000${once.key}`;
      const last = this.onceVersions.get(key);
      if (last !== undefined && last >= once.version) return Promise.resolve(null);
      this.onceVersions.set(key, once.version);
    }
    const id = this.ids.next();
    const p: BusPublication = { id, channel, event, dataJson, text, publishedAt: Date.now(), node: this.nodeId };
    for (const h of this.handlers) h(p);
    return Promise.resolve(id);
  }

  onPublication(handler: (p: BusPublication) => void): void {
    this.handlers.push(handler);
  }

  publishBinary(channel: string, payload: Buffer): Promise<void> {
    const b: BusBinary = { channel, payload, node: this.nodeId };
    for (const h of this.binaryHandlers) h(b);
    return DONE;
  }

  onBinary(handler: (b: BusBinary) => void): void {
    this.binaryHandlers.push(handler);
  }

  /** No other node to reach: a message to one is dropped, as a message to a node away from the bus is. */
  sendToNode(): Promise<void> {
    return DONE;
  }

  /** Never called: only this process sends, and it never sends to itself. */
  onNodeMessage(): void {}

  /** Never called: an in-process bus cannot drop a publication. */
  onGap(): void {}

  currentId(): Promise<number> {
    return Promise.resolve(this.ids.current);
  }

  /** Refused (`unknown_position`) past the newest id, as Redis refuses a position past its sequence. */
  since(channel: string, afterId: number): Promise<DurableRecovery> {
    if (afterId > this.ids.current) return Promise.resolve({ ok: false, reason: 'unknown_position' });
    const r = this.history.since(channel, afterId);
    if (!r.ok) return Promise.resolve(r);
    const entries = r.publications.map((p) => ({
      id: p.id,
      channel: p.channel,
      event: p.event,
      dataJson: p.dataJson,
      text: p.isText,
      publishedAt: p.publishedAt,
      node: this.nodeId,
    }));
    return Promise.resolve({ ok: true, entries });
  }

  isReady(): boolean {
    return !this.closed;
  }

  /** Saves the history for the next start (a failure is logged: the next start then refuses old positions honestly). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.dataDir === undefined) return;
    await saveHistorySnapshot(this.dataDir, this.history, this.ids).catch((err: Error) =>
      this.log.warn({ err }, 'history snapshot not saved: clients resuming after restart get recovery_failed'),
    );
  }
}
