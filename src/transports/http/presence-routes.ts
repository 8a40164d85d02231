import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import { isValidChannelName } from '../../hub/channel-name.js';
import type { Presence } from '../../hub/presence.js';
import type { ServerApiGuard } from './api-key.js';

/**
 * `GET /realtime/channels/:channel/presence`: who is connected to a channel,
 * cluster-wide — `{"channel", "count", "members": [{"client_id", "user_id",
 * "node", "joined_at"}]}`. Server API: guarded like `POST /realtime/*`
 * (see api-key.ts). A channel without presence
 * (not in PRESENCE_CHANNELS) answers 404 `presence_disabled`.
 */
export function presenceRoutes(app: FastifyInstance, opts: { presence: Presence | null; guard: ServerApiGuard }): void {
  app.get<{ Params: { channel: string } }>('/realtime/channels/:channel/presence', { onRequest: opts.guard }, async (req) => {
    const { channel } = req.params;
    if (!isValidChannelName(channel)) {
      throw new HubcastError(ErrorCode.invalidChannel, `invalid channel name ${JSON.stringify(channel).slice(0, 140)}`, 400);
    }
    if (opts.presence === null || !opts.presence.tracks(channel)) {
      throw new HubcastError(ErrorCode.presenceDisabled, `channel ${channel} has no presence (see PRESENCE_CHANNELS)`, 404);
    }
    const members = await opts.presence.list(channel);
    return { channel, count: members.length, members };
  });
}
