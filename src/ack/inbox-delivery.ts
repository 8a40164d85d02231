import type { ConnectionWatcher } from '../hub/hub.js';
import { userChannel } from '../hub/channel-name.js';
import { Publication } from '../hub/publication.js';
import { Transport, type Subscriber } from '../hub/subscriber.js';
import type { Logger } from '../logger.js';
import { writeReplay } from '../transports/replay-pump.js';
import type { AckConnection, Acks } from './acks.js';
import type { InboxStore } from './inbox.js';
import type { OnlineUsers } from './online.js';

/**
 * The user inbox at work: counts each user's connections (cluster-wide with
 * Redis), keeps what `POST /realtime/send {"user_id"}` sends to a user with
 * none, and on the user's next connection (WebSocket or TCP: SSE cannot
 * acknowledge) writes it on `user:<id>`, oldest first, as an acknowledged
 * subscription: redelivered until acknowledged, removed when it is.
 */
export class Inboxes implements ConnectionWatcher {
  delivered = 0;

  constructor(
    readonly store: InboxStore,
    readonly online: OnlineUsers,
    private readonly acks: Acks,
    private readonly log: Logger,
  ) {}

  connected(sub: Subscriber): void {
    const userId = sub.userId;
    if (userId === null) return;
    this.online.connected(userId);
    if (sub.transport === Transport.sse) return;
    // After the rest of the connection's opening (its `connected` frame comes first).
    this.deliver(sub as unknown as AckConnection, userId).catch((err: unknown) =>
      this.log.warn({ err, userId }, 'inbox not delivered: it stays for the next connection'),
    );
  }

  disconnected(sub: Subscriber): void {
    if (sub.userId !== null) this.online.disconnected(sub.userId);
  }

  private async deliver(conn: AckConnection, userId: string): Promise<void> {
    const entries = await this.store.list(userId);
    if (entries.length === 0 || conn.socket.destroyed) return;
    const channel = userChannel(userId);
    const sub = this.acks.open(conn, channel);
    sub.inbox = true;
    const frames = entries.map((e) => {
      const p = Publication.fromJson(e.id, channel, e.event, e.dataJson, e.text, e.publishedAt);
      return conn.transport === Transport.ws ? p.wsFrame() : p.tcpLine();
    });
    for (const frame of frames) sub.observe(frame);
    writeReplay(conn, frames);
    this.delivered += frames.length;
  }

  /** After a send to `userId`: kept when the user has no connection anywhere. */
  async sent(userId: string, id: string, event: string, data: unknown): Promise<boolean> {
    if (await this.online.isOnline(userId)) return false;
    await this.store.push(userId, {
      id: Number(id),
      event,
      dataJson: JSON.stringify(data) ?? 'null',
      text: typeof data === 'string',
      publishedAt: Date.now(),
    });
    return true;
  }

  stats(): Record<string, number> {
    return { ...this.store.stats(), inbox_delivered: this.delivered };
  }

  async close(): Promise<void> {
    await this.online.close();
    await this.store.close();
  }
}
