import type { Gateway, GatewayExtension } from '../server.js';
import { ErrorCode } from '../codes.js';
import { HubcastError } from '../errors.js';
import type { ChannelSender } from '../hub/app-channels.js';
import { CHAT_PREFIX, isTypingSignal, roomOf } from './message.js';
import { UserRateLimit } from './rate-limit.js';
import { ChatService } from './service.js';
import { SqlChatStore } from './sql-store.js';
import { chatRoutes } from './routes.js';

/**
 * Chat as an application on the gateway (docs/protocol.md, "Chat"): its own
 * tables (migrated here), the `chat:` channels (posts over WS are handed to
 * it, presence on without configuration), its HTTP routes and the page.
 * Everything it needs from the core goes through the Gateway: the shared
 * database, the hub to publish on, the authenticator, presence.
 *
 * @example
 * await createGateway(config, { extensions: [catalogPipeline(...), chatApp()] });
 */
export function chatApp(): GatewayExtension {
  return async (gateway: Gateway) => {
    const { config } = gateway;
    const log = gateway.log.child({ component: 'chat' });
    const store = await SqlChatStore.open(await gateway.database(), log);
    const limit = config.chatRateLimit > 0 ? new UserRateLimit(config.chatRateLimit, config.chatRateBurst) : null;
    const service = new ChatService(store, gateway.hub, limit, log);

    gateway.addPresence([`${CHAT_PREFIX}*`]);
    gateway.claimChannels(CHAT_PREFIX, {
      publish: async (sender: ChannelSender, channel: string, message: unknown) => {
        const room = roomOf(channel);
        if (room === null) throw new HubcastError(ErrorCode.invalidChannel, `chat rooms are 1–64 characters of A-Z a-z 0-9 _ -: ${channel.slice(0, 80)}`);
        // Auth off and no ?user_id=: the connection speaks as its client_id (open mode, like every channel).
        const userId = sender.identity.userId ?? (sender.identity.authenticated ? null : sender.clientId);
        if (userId === null) throw new HubcastError(ErrorCode.unauthorized, 'posting in chat needs a token with a sub claim', 401);
        if (isTypingSignal(message)) {
          await service.typing(room, userId);
          return { typing: true };
        }
        return { message: await service.post(room, userId, message) };
      },
    });
    chatRoutes(gateway.app, { service, store, auth: gateway.auth, presencePage: (channel, cursor, limit) => gateway.presencePage(channel, cursor, limit), presenceCount: (channel) => gateway.presenceCount(channel) });
    gateway.components.push({
      name: 'chat',
      ready: () => true,
      close: async () => undefined,
      stats: () => ({
        chat_posts: service.stats.posts,
        chat_duplicates: service.stats.duplicates,
        chat_refused: service.stats.refused,
        chat_store_failures: service.stats.storeFailures,
        chat_publish_failures: service.stats.publishFailures,
        chat_typing_signals: service.stats.typing,
      }),
    });
  };
}
