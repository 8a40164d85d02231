import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorCode, SystemEvent } from '../../codes.js';
import { HubcastError, describeIssues } from '../../errors.js';
import type { Hub } from '../../hub/hub.js';
import { BROADCAST_CHANNEL, isValidChannelName, userChannel } from '../../hub/channel-name.js';
import type { ServerApiGuard } from './api-key.js';
import { MAX_JSON_DEPTH, valueTooDeep } from '../json-depth.js';

const eventName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:\-]+$/, { message: 'event: letters, digits and _ . : - only' })
  // The SDK acts on `system` notices (recovery_failed, token_expired): only the gateway sends them.
  .refine((e) => e !== SystemEvent.system, { message: 'event "system" is reserved for the gateway\'s own notices' });
const present = (v: unknown) => v !== undefined;

const sendBody = z
  .object({
    user_id: z.string().min(1).max(128).optional(),
    channel: z.string().optional(),
    event: eventName.optional(),
    data: z.unknown().refine(present, { message: 'data is required' }),
  })
  .strict()
  .refine((b) => (b.user_id === undefined) !== (b.channel === undefined), {
    message: 'give exactly one of user_id or channel',
  });

const broadcastBody = z
  .object({
    event: eventName.optional(),
    data: z.unknown().refine(present, { message: 'data is required' }),
  })
  .strict();

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HubcastError(ErrorCode.badRequest, 'body must be a JSON object', 400);
  }
  // Deep nesting would overflow the stack when the publication is serialized.
  if (valueTooDeep(body)) throw new HubcastError(ErrorCode.badRequest, `body nests deeper than ${MAX_JSON_DEPTH} levels`, 400);
  const r = schema.safeParse(body);
  if (!r.success) throw new HubcastError(ErrorCode.badRequest, describeIssues(r.error.issues), 400);
  return r.data;
}

export interface StatsSource {
  (): Record<string, unknown>;
}

/** The server API: push to a user or a channel, broadcast, and stats. */
export interface RealtimeRoutesOptions {
  hub: Hub;
  /** The server API's access rules (see api-key.ts). */
  guard: ServerApiGuard;
  /** Set when stats are not public (METRICS_PUBLIC=false). */
  statsGuard?: ServerApiGuard;
  stats: StatsSource;
}

export function realtimeRoutes(app: FastifyInstance, opts: RealtimeRoutesOptions): void {
  // Used as onRequest, not preHandler: a caller without the key is refused before its body is read and parsed.
  const { hub, guard } = opts;

  app.post('/realtime/send', { onRequest: guard }, async (req) => {
    const body = parse(sendBody, req.body);
    let channel: string;
    if (body.channel !== undefined) {
      if (!isValidChannelName(body.channel)) {
        throw new HubcastError(ErrorCode.invalidChannel, `invalid channel name ${JSON.stringify(body.channel).slice(0, 140)}`, 400);
      }
      channel = body.channel;
    } else {
      channel = userChannel(body.user_id!);
      if (!isValidChannelName(channel)) {
        throw new HubcastError(
          ErrorCode.invalidChannel,
          `invalid user_id ${JSON.stringify(body.user_id).slice(0, 140)}: user:<user_id> must be a channel name (1–128 of letters, digits and _ - : . @ / =)`,
          400,
        );
      }
    }
    const result = await hub.publishEvent(channel, body.event ?? 'message', body.data);
    return { delivered: result.delivered, id: result.id, channel };
  });

  app.post('/realtime/broadcast', { onRequest: guard }, async (req) => {
    const body = parse(broadcastBody, req.body);
    const result = await hub.publishEvent(BROADCAST_CHANNEL, body.event ?? 'message', body.data);
    return { delivered: result.delivered, id: result.id };
  });

  app.get('/realtime/stats', opts.statsGuard ? { onRequest: opts.statsGuard } : {}, async () => opts.stats());
}
