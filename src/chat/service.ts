import { ErrorCode } from '../codes.js';
import { HubcastError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Publisher } from '../hub/publisher.js';
import { CHAT_MESSAGE_EVENT, channelOf, parsePost, type ChatMessage } from './message.js';
import type { UserRateLimit } from './rate-limit.js';
import type { ChatStore } from './store.js';

export interface ChatStats {
  posts: number;
  duplicates: number;
  refused: number;
  storeFailures: number;
  publishFailures: number;
}

/**
 * A post, whichever way it came (WS `channel_message` or HTTP): validated,
 * rate-limited, stored, and only then published as `chat.message` on the
 * room. A post the store refused is never published; a repeat of a stored
 * client_msg_id answers the stored message and publishes nothing.
 */
export class ChatService {
  readonly stats: ChatStats = { posts: 0, duplicates: 0, refused: 0, storeFailures: 0, publishFailures: 0 };
  readonly #store: ChatStore;
  readonly #hub: Publisher;
  readonly #limit: UserRateLimit | null;
  readonly #log: Logger;

  constructor(store: ChatStore, hub: Publisher, limit: UserRateLimit | null, log: Logger) {
    this.#store = store;
    this.#hub = hub;
    this.#limit = limit;
    this.#log = log;
  }

  /** `userId` is already authorized for `room` by the caller. Throws HubcastError with the code for the client. */
  async post(room: string, userId: string, message: unknown): Promise<ChatMessage> {
    let post;
    try {
      post = parsePost(message);
    } catch (err) {
      this.stats.refused++;
      throw err;
    }
    const wait = this.#limit?.take(userId) ?? 0;
    if (wait > 0) {
      this.stats.refused++;
      throw new HubcastError(ErrorCode.rateLimited, `too many chat posts from ${userId}; retry in ${wait} ms`, 429);
    }
    let stored;
    try {
      stored = await this.#store.post({ room, userId, text: post.text, clientMsgId: post.clientMsgId });
    } catch (err) {
      this.stats.storeFailures++;
      this.#log.warn({ err: (err as Error).message, room }, 'chat post not stored');
      throw new HubcastError(ErrorCode.notReady, 'message not stored (database unavailable); retry with the same client_msg_id', 503);
    }
    if (!stored.created) {
      this.stats.duplicates++;
      return stored.message;
    }
    this.stats.posts++;
    try {
      await this.#hub.publish(channelOf(room), CHAT_MESSAGE_EVENT, stored.message);
    } catch (err) {
      // Stored is what counts: the message is in every node's history; live subscribers catch up from it.
      this.stats.publishFailures++;
      this.#log.warn({ err: (err as Error).message, room, id: stored.message.id }, 'chat message stored but not published');
    }
    return stored.message;
  }
}
