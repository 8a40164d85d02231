import type { Inboxes } from '../../ack/inbox-delivery.js';
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ErrorCode, SystemEvent } from '../../codes.js';
import { HubcastError, describeIssues, errorBody } from '../../errors.js';
import type { Component } from '../../application.js';
import { IDEMPOTENCY_KEY_PATTERN, type Claim, type IdempotencyStore } from './idempotency.js';
import type { Hub } from '../../hub/hub.js';
import type { DeliveryTally } from '../../cluster/delivery-tally.js';
import { BROADCAST_CHANNEL, isValidChannelName, userChannel } from '../../hub/channel-name.js';
import type { ServerApiGuard } from './api-key.js';
import { MAX_JSON_DEPTH, valueTooDeep } from '../json-depth.js';

const eventName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, { message: 'event: letters, digits and _ . : - only' })
  // The SDK acts on `system` notices (recovery_failed, token_expired): only the gateway sends them.
  .refine((e) => e !== SystemEvent.system, { message: 'event "system" is reserved for the gateway\'s own notices' });
const present = (v: unknown) => v !== undefined;

/** Exported for the OpenAPI document: the schema that validates is the one described. */
export const sendBody = z
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

export const broadcastBody = z
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
  if (valueTooDeep(body))
    throw new HubcastError(ErrorCode.badRequest, `body nests deeper than ${MAX_JSON_DEPTH} levels`, 400);
  const r = schema.safeParse(body);
  if (!r.success) throw new HubcastError(ErrorCode.badRequest, describeIssues(r.error.issues), 400);
  return r.data;
}

export type StatsSource = () => Record<string, unknown>;

export interface RealtimeRoutesOptions {
  /** The user inbox: sends to a user with no connection are kept there. */
  inboxes?: Inboxes;
  hub: Hub;
  /** The server API's access rules (see api-key.ts). */
  guard: ServerApiGuard;
  /** Set when stats are not public (METRICS_PUBLIC=false). */
  statsGuard?: ServerApiGuard;
  stats: StatsSource;
  idempotency: IdempotencyStore;
  /** Counts a publication's deliveries on every node, for `?count=cluster`. */
  tally: DeliveryTally;
  /** A cluster bus carries every publish: when it fails, the answer is 503 (retry), not 500. */
  clustered: boolean;
  logger: Logger;
}

/**
 * `?count=cluster`: also count the deliveries on every node (a bounded wait for
 * their answers); `?count=node` or none: this node's count only, no wait.
 */
function wantsClusterCount(query: unknown): boolean {
  const count = (query as Record<string, unknown> | undefined)?.count;
  if (count === undefined || count === 'node') return false;
  if (count === 'cluster') return true;
  throw new HubcastError(
    ErrorCode.badRequest,
    `count: "node" (the default) or "cluster", not ${JSON.stringify(count).slice(0, 60)}`,
    400,
  );
}

/** Seconds a publisher should wait before retrying a 503 / 409. */
const RETRY_AFTER_S = 1;

/**
 * The server API: push to a user or a channel, broadcast, and stats. Returns
 * a component: its counters join the stats, its idempotency store closes on shutdown.
 */
export function realtimeRoutes(app: FastifyInstance, opts: RealtimeRoutesOptions): Component {
  // Used as onRequest, not preHandler: a caller without the key is refused before its body is read and parsed.
  const { hub, guard, idempotency, clustered, logger, tally } = opts;
  /** Publish, with the cluster-wide figures when asked for (`delivered` stays this node's, as on the wire). */
  const publish = async (cluster: boolean, channel: string, event: string, data: unknown) => {
    if (!cluster) return { ...(await hub.publishEvent(channel, event, data)), extra: {} };
    const r = await tally.publish(channel, event, data);
    return {
      id: r.id,
      delivered: r.delivered,
      extra: { delivered_cluster: r.deliveredCluster, nodes: r.nodes, nodes_answered: r.nodesAnswered },
    };
  };
  const counts = { publish_unavailable: 0, idempotent_replays: 0 };

  const unavailable = (reply: FastifyReply, what: string, err: unknown) => {
    counts.publish_unavailable++;
    logger.warn(
      { err: (err as Error)?.message },
      `${what} failed: the cluster bus (Redis) is unreachable; answered 503`,
    );
    return reply
      .code(503)
      .header('Retry-After', String(RETRY_AFTER_S))
      .send(
        errorBody(
          ErrorCode.unavailable,
          'the cluster bus (Redis) is unreachable; nothing was published: retry after Retry-After seconds',
        ),
      );
  };

  /**
   * Run `act` once per Idempotency-Key (when the request has one): a repeat
   * within the window answers the first answer with `Idempotent-Replayed: true`.
   */
  const once = async (
    req: FastifyRequest,
    reply: FastifyReply,
    route: string,
    act: () => Promise<Record<string, unknown>>,
  ) => {
    const header = req.headers['idempotency-key'];
    if (header === undefined) {
      try {
        return await act();
      } catch (err) {
        if (clustered && !(err instanceof HubcastError)) return unavailable(reply, route, err);
        throw err;
      }
    }
    if (typeof header !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(header)) {
      throw new HubcastError(
        ErrorCode.badRequest,
        'Idempotency-Key: one value of 1-128 visible ASCII characters (a UUID fits)',
        400,
      );
    }
    const key = `${route}:${header}`;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify(req.body) ?? '')
      .digest('base64url');
    let claim: Claim;
    try {
      claim = await idempotency.claim(key, fingerprint);
    } catch (err) {
      return unavailable(reply, route, err);
    }
    switch (claim.state) {
      case 'done':
        counts.idempotent_replays++;
        return reply.code(claim.answer.status).header('Idempotent-Replayed', 'true').send(claim.answer.body);
      case 'pending':
        return reply
          .code(409)
          .header('Retry-After', String(RETRY_AFTER_S))
          .send(
            errorBody(
              ErrorCode.idempotencyKeyInUse,
              'a request with this Idempotency-Key is still running; retry after Retry-After seconds',
            ),
          );
      case 'mismatch':
        throw new HubcastError(
          ErrorCode.idempotencyKeyReused,
          'this Idempotency-Key was used with a different body; use a new key for a new request',
          422,
        );
    }
    let body: Record<string, unknown>;
    try {
      body = await act();
    } catch (err) {
      await idempotency.release(key).catch(() => undefined); // expires on its own if Redis is away
      if (clustered && !(err instanceof HubcastError)) return unavailable(reply, route, err);
      throw err;
    }
    // Published: a failure to remember the answer must not turn into an error the client retries.
    await idempotency
      .complete(key, fingerprint, { status: 200, body })
      .catch((err) =>
        logger.warn(
          { err: (err as Error).message },
          'idempotency answer not stored: a retry with the same key may publish again',
        ),
      );
    return body;
  };

  app.post('/realtime/send', { onRequest: guard }, async (req, reply) => {
    const body = parse(sendBody, req.body);
    const cluster = wantsClusterCount(req.query);
    let channel: string;
    if (body.channel !== undefined) {
      if (!isValidChannelName(body.channel)) {
        throw new HubcastError(
          ErrorCode.invalidChannel,
          `invalid channel name ${JSON.stringify(body.channel).slice(0, 140)}`,
          400,
        );
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
    return once(req, reply, 'send', async () => {
      const result = await publish(cluster, channel, body.event ?? 'message', body.data);
      // To a user with no connection anywhere: kept in the user's inbox for the next one.
      if (body.user_id !== undefined && opts.inboxes !== undefined)
        await opts.inboxes.sent(body.user_id, result.id, body.event ?? 'message', body.data);
      return { delivered: result.delivered, ...result.extra, id: result.id, channel };
    });
  });

  app.post('/realtime/broadcast', { onRequest: guard }, async (req, reply) => {
    const body = parse(broadcastBody, req.body);
    const cluster = wantsClusterCount(req.query);
    return once(req, reply, 'broadcast', async () => {
      const result = await publish(cluster, BROADCAST_CHANNEL, body.event ?? 'message', body.data);
      return { delivered: result.delivered, ...result.extra, id: result.id };
    });
  });

  app.get('/realtime/stats', opts.statsGuard ? { onRequest: opts.statsGuard } : {}, async () => opts.stats());

  return {
    name: 'idempotency',
    ready: () => idempotency.ready(),
    close: () => idempotency.close(),
    stats: () => ({ ...counts }),
  };
}
