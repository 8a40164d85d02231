import type { Logger } from '../logger.js';
import type { BusPublication, ClusterBus, DurableRecovery } from '../bus/bus.js';

/** Why a catch-up could not prove that nothing was missed on a channel. */
export type CatchUpFailure = Extract<DurableRecovery, { ok: false }>['reason'] | 'unreachable';

/** What the catch-up needs of the hub. */
export interface CatchUpTarget {
  /** Highest bus id delivered here: what the catch-up reads after. */
  position(): number;
  /** Channels with local subscribers, the broadcast channel included. */
  channelNames(): string[];
  /** Deliver a publication (called in id order; the target drops ids at or below its position). */
  deliver(p: BusPublication): void;
  /** Local history no longer covers everything: resumes must go to the bus. */
  resetCoverage(): void;
  /**
   * What was published on `channels` after `from` may be lost: tell their
   * subscribers (`recovery_failed`) before anything newer reaches them.
   */
  lost(channels: string[], reason: CatchUpFailure): void;
}

export interface CatchUpOptions {
  /** Durable-history reads tried per channel before giving up (default 20: about 15 s with the backoff). */
  attempts?: number;
  /** First retry delay; doubles per attempt up to 1 s (default 50). */
  retryMs?: number;
}

const DEFAULTS: Required<CatchUpOptions> = { attempts: 20, retryMs: 50 };

export interface CatchUpStats {
  /** Gaps caught up (bus reconnects). */
  catchUps: number;
  /** Channels a catch-up could not prove complete (their subscribers were told). */
  catchUpFailures: number;
}

/**
 * The cluster catch-up: when the bus reconnects, publications may have gone
 * by unseen. Live publications are held from that moment; every local
 * channel's missed publications are read from durable history; both are then
 * delivered in id order without repeats.
 *
 * A read that cannot prove the channel complete — the position predates the
 * history's epoch (Redis came back empty or lost writes), the stream was
 * trimmed past it, or Redis did not answer within the attempts — is never
 * taken for "nothing missed": the channel's subscribers are told
 * `recovery_failed` and the failure is logged with the channel and the gap.
 */
export class CatchUp {
  private readonly options: Required<CatchUpOptions>;
  /** Live publications held while catching up; null when not catching up. */
  private held: BusPublication[] | null = null;
  private again = false;
  private resubscribed: Promise<void> = Promise.resolve();
  private readonly counts: CatchUpStats = { catchUps: 0, catchUpFailures: 0 };

  constructor(
    private readonly bus: ClusterBus,
    private readonly target: CatchUpTarget,
    private readonly log: Logger | null,
    options: CatchUpOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Hold `p` if a catch-up is under way (it is delivered when the catch-up ends); false otherwise. */
  hold(p: BusPublication): boolean {
    if (this.held === null) return false;
    this.held.push(p);
    return true;
  }

  get active(): boolean {
    return this.held !== null;
  }

  stats(): CatchUpStats {
    return { ...this.counts };
  }

  /** The bus reconnected: catch up once `resubscribed` settles (again, if another gap comes meanwhile). */
  async gap(resubscribed: Promise<void>): Promise<void> {
    this.resubscribed = resubscribed;
    if (this.held !== null) {
      this.again = true;
      return;
    }
    // Hold live messages from the first moment: everything after `from` is
    // delivered once the reads below are merged with them, in id order.
    this.held = [];
    this.target.resetCoverage();
    this.counts.catchUps++;
    const from = this.target.position();
    const startedAt = Date.now();
    const found: BusPublication[] = [];
    const failed = new Map<string, CatchUpFailure>();
    do {
      this.again = false;
      // A failed resubscribe is followed by another reconnect, hence another gap.
      await this.resubscribed.catch(() => undefined);
      const names = this.target.channelNames().filter((name) => !failed.has(name));
      await Promise.all(
        names.map(async (name) => {
          const r = await this.read(name, from);
          if (r.ok) found.push(...r.entries);
          else failed.set(name, r.reason);
        }),
      );
    } while (this.again);
    const live = this.held;
    this.held = null;
    if (failed.size > 0) {
      // Before anything newer: the notice must precede the events that follow the gap.
      const byReason = new Map<CatchUpFailure, string[]>();
      for (const [name, reason] of failed) {
        const list = byReason.get(reason);
        if (list === undefined) byReason.set(reason, [name]);
        else list.push(name);
      }
      for (const [reason, channels] of byReason) {
        this.counts.catchUpFailures += channels.length;
        this.log?.error(
          {
            channels: channels.slice(0, 50),
            channelCount: channels.length,
            reason,
            after: from,
            upTo: live[0]?.id ?? null,
          },
          'cluster catch-up failed: subscribers of these channels may have missed events after `after` and are told recovery_failed',
        );
        this.target.lost(channels, reason);
      }
    }
    // Sorted, so the target's `id <= position` check drops what was read twice.
    const all = found.length === 0 ? live : [...found, ...live].sort((a, b) => a.id - b.id);
    for (const p of all) this.target.deliver(p);
    this.log?.info(
      {
        after: from,
        recovered: found.length,
        held: live.length,
        failedChannels: failed.size,
        ms: Date.now() - startedAt,
      },
      'cluster catch-up done',
    );
  }

  /**
   * What `channel` missed after `from`. Redis is often still coming back when
   * the bus reconnects, so a failed read is retried (live events stay held
   * meanwhile); after the last attempt the channel is reported unreachable.
   */
  private async read(channel: string, from: number): Promise<DurableRecovery | { ok: false; reason: 'unreachable' }> {
    const { attempts, retryMs } = this.options;
    let lastError = '';
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        return await this.bus.since(channel, from);
      } catch (err) {
        lastError = (err as Error).message;
        if (attempt + 1 < attempts)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, retryMs * 2 ** attempt)));
      }
    }
    this.log?.warn({ channel, attempts, err: lastError }, 'cluster catch-up: durable history did not answer');
    return { ok: false, reason: 'unreachable' };
  }
}
