import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import { isValidChannelName } from '../../hub/channel-name.js';
import { decodeCursor, PRESENCE_PAGE_MAX, type Presence } from '../../hub/presence.js';
import type { ServerApiGuard } from './api-key.js';

/** Members per page when `limit` is not given. */
export const PRESENCE_PAGE_DEFAULT = 100;

const pageQuery = z.object({
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(0).max(PRESENCE_PAGE_MAX).default(PRESENCE_PAGE_DEFAULT),
});

/** `?cursor=&limit=` of a member list, checked: `bad_request` naming the parameter otherwise. */
export function parsePageQuery(query: unknown): { cursor: string | null; limit: number } {
  const parsed = pageQuery.safeParse(query);
  if (!parsed.success)
    throw new HubcastError(ErrorCode.badRequest, `limit: expected an integer from 0 to ${PRESENCE_PAGE_MAX}`, 400);
  const { cursor, limit } = parsed.data;
  if (cursor !== undefined && decodeCursor(cursor) === null) {
    throw new HubcastError(ErrorCode.badRequest, 'cursor: expected the next_cursor of a previous page', 400);
  }
  return { cursor: cursor ?? null, limit };
}

/**
 * `GET /realtime/channels/:channel/presence?cursor=&limit=`: who is connected to
 * a channel, cluster-wide, a page at a time — `{"channel", "count", "members":
 * [{"client_id", "user_id", "node", "joined_at"}], "next_cursor"}`. `count` is
 * always the whole channel's; `limit=0` asks for the count alone. Server API:
 * guarded like `POST /realtime/*` (see api-key.ts). A channel without presence
 * (not in PRESENCE_CHANNELS) answers 404 `presence_disabled`.
 */
export function presenceRoutes(app: FastifyInstance, opts: { presence: Presence | null; guard: ServerApiGuard }): void {
  app.get<{ Params: { channel: string }; Querystring: Record<string, unknown> }>(
    '/realtime/channels/:channel/presence',
    { onRequest: opts.guard },
    async (req) => {
      const { channel } = req.params;
      if (!isValidChannelName(channel)) {
        throw new HubcastError(
          ErrorCode.invalidChannel,
          `invalid channel name ${JSON.stringify(channel).slice(0, 140)}`,
          400,
        );
      }
      if (opts.presence === null || !opts.presence.tracks(channel)) {
        throw new HubcastError(
          ErrorCode.presenceDisabled,
          `channel ${channel} has no presence (see PRESENCE_CHANNELS)`,
          404,
        );
      }
      const { cursor, limit } = parsePageQuery(req.query);
      return { channel, ...(await opts.presence.page(channel, cursor, limit)) };
    },
  );
}
