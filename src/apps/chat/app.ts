import type { Application, ChannelSender, MetricSpec } from '../../application.js';
import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import { CHAT_MESSAGE_EVENT, CHAT_PREFIX, CHAT_TYPING_EVENT, isTypingSignal, roomOf } from './message.js';
import { KeyedRateLimit } from '../../keyed-rate-limit.js';
import { ChatService } from './service.js';
import { SqlChatStore } from './sql-store.js';
import { chatRoutes } from './routes.js';
import { chatPage } from './page.js';
import { CHAT_ROUTES } from './route-docs.js';
import { CHAT_MIGRATIONS_TABLE, chatMigrations } from './migrations.js';

/** `/metrics` names of chat's stats fields. */
const CHAT_METRICS: Record<string, MetricSpec> = {
  chat_posts: { name: 'hubcast_chat_posts_total', help: 'Chat messages stored and published', kind: 'counter' },
  chat_duplicates: {
    name: 'hubcast_chat_duplicates_total',
    help: 'Chat posts answered with the message a retry stored already',
    kind: 'counter',
  },
  chat_refused: {
    name: 'hubcast_chat_refused_total',
    help: 'Chat posts refused (invalid or over the rate limit)',
    kind: 'counter',
  },
  chat_store_failures: {
    name: 'hubcast_chat_store_failures_total',
    help: 'Chat posts the database failed to store',
    kind: 'counter',
  },
  chat_publish_failures: {
    name: 'hubcast_chat_publish_failures_total',
    help: 'Stored chat messages whose publication failed',
    kind: 'counter',
  },
  chat_typing_signals: { name: 'hubcast_chat_typing_signals_total', help: 'Typing signals relayed', kind: 'counter' },
};

/**
 * Chat as an application (docs/protocol.md, "Chat"): its own tables, the
 * `chat:` channels (posts over WS are handed to it, presence on without
 * configuration), its HTTP routes and the page.
 *
 * @example
 * await createGateway(config, { apps: [catalogApp({ withGenerator: false }), chatApp()] });
 */
export function chatApp(): Application {
  // Set by setup; the channel handler below is declared before it runs and called only after.
  let service: ChatService | null = null;
  return {
    name: 'chat',
    channels: [
      {
        pattern: `${CHAT_PREFIX}*`,
        presence: true,
        publish: {
          publish: async (sender: ChannelSender, channel: string, message: unknown) => {
            const room = roomOf(channel);
            if (room === null)
              throw new HubcastError(
                ErrorCode.invalidChannel,
                `chat rooms are 1–64 characters of A-Z a-z 0-9 _ -: ${channel.slice(0, 80)}`,
              );
            if (service === null) throw new HubcastError(ErrorCode.notReady, 'chat is starting; retry shortly', 503);
            // Auth off and no ?user_id=: the connection speaks as its client_id (open mode, like every channel).
            const userId = sender.identity.userId ?? (sender.identity.authenticated ? null : sender.clientId);
            if (userId === null)
              throw new HubcastError(ErrorCode.unauthorized, 'posting in chat needs a token with a sub claim', 401);
            if (isTypingSignal(message)) {
              await service.typing(room, userId);
              return { typing: true };
            }
            return { message: await service.post(room, userId, message) };
          },
        },
      },
    ],
    events: [CHAT_MESSAGE_EVENT, CHAT_TYPING_EVENT],
    migrations: { table: CHAT_MIGRATIONS_TABLE, list: chatMigrations },
    metrics: CHAT_METRICS,
    routes: CHAT_ROUTES,
    async setup(ctx) {
      const { config, log } = ctx;
      const store = SqlChatStore.migrated(await ctx.database());
      const limit = config.chatRateLimit > 0 ? new KeyedRateLimit(config.chatRateLimit, config.chatRateBurst) : null;
      const chat = (service = new ChatService(store, ctx.publisher, limit, log));
      chatRoutes(ctx.http, {
        service: chat,
        store,
        access: ctx.access,
        presencePage: (channel, cursor, limit) => ctx.presencePage(channel, cursor, limit),
        presenceCount: (channel) => ctx.presenceCount(channel),
      });
      ctx.page('/chat', chatPage);
      ctx.component({
        name: 'chat',
        ready: () => true,
        close: async () => undefined,
        stats: () => ({
          chat_posts: chat.stats.posts,
          chat_duplicates: chat.stats.duplicates,
          chat_refused: chat.stats.refused,
          chat_store_failures: chat.stats.storeFailures,
          chat_publish_failures: chat.stats.publishFailures,
          chat_typing_signals: chat.stats.typing,
        }),
      });
    },
  };
}
