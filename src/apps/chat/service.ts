import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Publisher } from '../../application.js';
import {
  CHAT_MESSAGE_EVENT,
  CHAT_TYPING_EVENT,
  TYPING_MIN_INTERVAL_MS,
  TYPING_TTL_MS,
  channelOf,
  parsePost,
  type ChatMessage,
} from './message.js';
import type { KeyedRateLimit } from '../../keyed-rate-limit.js';
import type { ChatStore, StoredPost } from './store.js';

export interface ChatStats {
  posts: number;
  duplicates: number;
  refused: number;
  storeFailures: number;
  publishFailures: number;
  typing: number;
}

/**
 * A post, whichever way it came (WS `channel_message` or HTTP): validated,
 * rate-limited, stored, and only then published as `chat.message` on the
 * room. A post the store refused is never published; a repeat of a stored
 * client_msg_id answers the stored message and publishes nothing.
 */
export class ChatService {
  readonly stats: ChatStats = { posts: 0, duplicates: 0, refused: 0, storeFailures: 0, publishFailures: 0, typing: 0 };
  private readonly store: ChatStore;
  private readonly hub: Publisher;
  private readonly limit: KeyedRateLimit | null;
  private readonly log: Logger;
  /** user + room → when its last typing signal went out (bounded: pruned of expired entries). */
  private readonly _typing = new Map<string, number>();

  constructor(store: ChatStore, hub: Publisher, limit: KeyedRateLimit | null, log: Logger) {
    this.store = store;
    this.hub = hub;
    this.limit = limit;
    this.log = log;
  }

  /** `userId` is already authorized for `room` by the caller. Throws HubcastError with the code for the client. */
  async post(room: string, userId: string, message: unknown): Promise<ChatMessage> {
    let post: ReturnType<typeof parsePost>;
    try {
      post = parsePost(message);
    } catch (err) {
      this.stats.refused++;
      throw err;
    }
    const wait = this.limit?.take(userId) ?? 0;
    if (wait > 0) {
      this.stats.refused++;
      throw new HubcastError(ErrorCode.rateLimited, `too many chat posts from ${userId}; retry in ${wait} ms`, 429);
    }
    let stored: StoredPost;
    try {
      stored = await this.store.post({ room, userId, text: post.text, clientMsgId: post.clientMsgId });
    } catch (err) {
      this.stats.storeFailures++;
      this.log.warn({ err: (err as Error).message, room }, 'chat post not stored');
      throw new HubcastError(
        ErrorCode.notReady,
        'message not stored (database unavailable); retry with the same client_msg_id',
        503,
      );
    }
    if (!stored.created) {
      this.stats.duplicates++;
      return stored.message;
    }
    this.stats.posts++;
    // The message ends the typing it announced: the next keystroke is news again.
    if (this._typing.size > 0) this._typing.delete(`${userId}\u0000${room}`);
    try {
      await this.hub.publish(channelOf(room), CHAT_MESSAGE_EVENT, stored.message);
    } catch (err) {
      // Stored is what counts: the message is in every node's history; live subscribers catch up from it.
      this.stats.publishFailures++;
      this.log.warn(
        { err: (err as Error).message, room, id: stored.message.id },
        'chat message stored but not published',
      );
    }
    return stored.message;
  }

  /**
   * Relay "`userId` is typing in `room`" as `chat.typing` (not stored). Signals from one user in
   * one room closer than TYPING_MIN_INTERVAL_MS apart are folded into the last one, which is still
   * showing: a client may send one per keystroke without flooding the room or its history.
   */
  async typing(room: string, userId: string): Promise<void> {
    const now = Date.now();
    const key = `${userId}\u0000${room}`;
    const last = this._typing.get(key);
    if (last !== undefined && now - last < TYPING_MIN_INTERVAL_MS) return;
    if (this._typing.size >= 10_000)
      for (const [k, t] of this._typing) if (now - t >= TYPING_MIN_INTERVAL_MS) this._typing.delete(k);
    this._typing.set(key, now);
    this.stats.typing++;
    await this.hub.publish(channelOf(room), CHAT_TYPING_EVENT, {
      room,
      user_id: userId,
      expires_at: new Date(now + TYPING_TTL_MS).toISOString(),
    });
  }
}
