import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import { parsePageQuery, type Access, type Identity, type PresencePage } from '../../application.js';
import { channelOf, isValidRoom, parseId } from './message.js';
import type { ChatService } from './service.js';
import type { ChatStore } from './store.js';

export interface ChatRoutesOptions {
  service: ChatService;
  store: ChatStore;
  access: Access;
  /** One page of who is present on a channel, cluster-wide, with the whole count (null: no presence there). */
  presencePage(channel: string, cursor: string | null, limit: number): Promise<PresencePage> | null;
  /** How many are present on a channel, cluster-wide, without listing them (null: no presence there). */
  presenceCount(channel: string): Promise<number> | null;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
/** The rooms list shows the most recently active rooms, at most this many. */
const ROOMS_LISTED = 100;
/** The same rule as `?user_id=` on connections (auth off). */
const USER_ID = /^[A-Za-z0-9_\-.@]{1,123}$/;

/**
 * Chat over HTTP (docs/protocol.md, "Chat"): post, read history, list rooms.
 * With auth on, the user is the token's `sub` (token as for SSE: `?token=` or
 * `Authorization: Bearer`) and the token's channel grants decide the rooms;
 * with auth off, everything is open and a post names its `user_id`. The page
 * (`/chat`) is the application's (app.ts).
 */
export function chatRoutes(app: FastifyInstance, opts: ChatRoutesOptions): void {
  const { service, store, access } = opts;
  const { joinDenied, publishDenied } = access;

  const identify = (req: FastifyRequest): Promise<Identity> =>
    access.identify(req.raw, new URL(req.url, 'http://localhost'));

  const roomParam = (room: string): string => {
    if (!isValidRoom(room))
      throw new HubcastError(
        ErrorCode.invalidChannel,
        `room ${JSON.stringify(room).slice(0, 80)}: 1–64 characters of A-Z a-z 0-9 _ -`,
        400,
      );
    return room;
  };

  app.post<{ Params: { room: string } }>('/api/chat/rooms/:room/messages', async (req, reply) => {
    const room = roomParam(req.params.room);
    const identity = await identify(req);
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HubcastError(ErrorCode.invalidMessage, 'body: expected an object {"text", "client_msg_id"?}', 400);
    }
    const { user_id: bodyUser, ...message } = body as Record<string, unknown>;
    let userId: string;
    if (access.enabled) {
      if (identity.userId === null)
        throw new HubcastError(ErrorCode.unauthorized, 'posting needs a token with a sub claim', 401);
      if (bodyUser !== undefined && bodyUser !== identity.userId)
        throw new HubcastError(ErrorCode.forbidden, 'user_id: the token names the user', 403);
      userId = identity.userId;
    } else {
      if (typeof bodyUser !== 'string' || !USER_ID.test(bodyUser)) {
        throw new HubcastError(
          ErrorCode.invalidMessage,
          'user_id: expected 1–123 characters of A-Z a-z 0-9 _ - . @ (auth is off: the body names the user)',
          400,
        );
      }
      userId = bodyUser;
    }
    const denied = publishDenied(identity, channelOf(room));
    if (denied !== null) throw new HubcastError(ErrorCode.forbidden, denied, 403);
    return reply.code(201).send(await service.post(room, userId, message));
  });

  app.get<{ Params: { room: string }; Querystring: Record<string, string | undefined> }>(
    '/api/chat/rooms/:room/messages',
    async (req) => {
      const room = roomParam(req.params.room);
      const denied = joinDenied(await identify(req), channelOf(room));
      if (denied !== null) throw new HubcastError(ErrorCode.forbidden, denied, 403);
      let limit = DEFAULT_LIMIT;
      if (req.query.limit !== undefined) {
        limit = /^[0-9]{1,3}$/.test(req.query.limit) ? Number(req.query.limit) : 0;
        if (limit < 1 || limit > MAX_LIMIT)
          throw new HubcastError(ErrorCode.badRequest, `limit: expected a whole number from 1 to ${MAX_LIMIT}`, 400);
      }
      let before: number | null = null;
      if (req.query.before !== undefined) {
        before = parseId(req.query.before);
        if (before === null) throw new HubcastError(ErrorCode.badRequest, 'before: expected a message id', 400);
      }
      return store.history(room, limit, before);
    },
  );

  // Presence for the room's own users (the presence endpoint belongs to the server API, which a browser page cannot call).
  app.get<{ Params: { room: string } }>('/api/chat/rooms/:room/members', async (req) => {
    const room = roomParam(req.params.room);
    const denied = joinDenied(await identify(req), channelOf(room));
    if (denied !== null) throw new HubcastError(ErrorCode.forbidden, denied, 403);
    const { cursor, limit } = parsePageQuery(req.query);
    const page = (await opts.presencePage(channelOf(room), cursor, limit)) ?? {
      count: 0,
      members: [],
      next_cursor: null,
    };
    return { room, ...page };
  });

  app.get('/api/chat/rooms', async (req) => {
    const identity = await identify(req);
    const rooms = (await store.rooms(ROOMS_LISTED)).filter((r) => joinDenied(identity, channelOf(r.room)) === null);
    const members = await Promise.all(rooms.map((r) => opts.presenceCount(channelOf(r.room)) ?? 0));
    return {
      rooms: rooms.map((r, i) => ({
        room: r.room,
        members: members[i],
        messages: r.messages,
        last_message_at: r.last_message_at,
      })),
    };
  });
}
