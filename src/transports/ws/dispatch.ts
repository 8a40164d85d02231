import { z } from 'zod';
import { ErrorCode } from '../../codes.js';
import type { Hub, JoinResult } from '../../hub/hub.js';
import { isValidChannelName } from '../../hub/channel-name.js';
import { parseEventId } from '../../hub/ids.js';
import { joinDenied, publishDenied } from '../../auth/permissions.js';
import { describeIssues } from '../../errors.js';
import { parseClientFrame, channelCommandData, type ClientFrame } from './protocol.js';
import { parseBinaryMessage } from '../../wire/binary.js';
import { jsonTextTooDeep, MAX_JSON_DEPTH } from '../json-depth.js';
import { encodeFrame, OPCODE_BINARY } from '../../wire/ws-frame.js';
import type { WsConnection } from './connection.js';
import type { Signaling, SignalRefusal, SignalSender } from '../webrtc/signaling.js';
import type { Subscriber } from '../../hub/subscriber.js';
import type { Identity } from '../../auth/permissions.js';
import { writeReplay, type ReplayTarget } from '../replay-pump.js';
import type { AppChannels, ChannelOwnership } from '../../hub/app-channels.js';
import { HubcastError } from '../../errors.js';
import { ackCommand, joinAcked, type AckReplies } from '../../ack/commands.js';

/**
 * What dispatch needs of a connection, whatever carries its frames: a
 * WebSocket (ws/connection.ts) or a line of a raw TCP socket (tcp/connection.ts).
 */
export interface DispatchConnection extends Subscriber, SignalSender, ReplayTarget {
  readonly identity: Identity;
  /** A control frame for this client only (replies, errors, echoes), framed for its transport. */
  send(message: object): void;
}

export interface DispatchContext<C extends DispatchConnection = WsConnection> {
  hub: Hub;
  signaling: Signaling;
  channelsPerConnection: number;
  /** Channels an application handles itself (chat): their `channel_message` goes there. */
  appChannels: AppChannels;
  /** `refresh_token`: verify the new token and swap the identity (async; answers by itself). */
  refreshToken(conn: C, token: string, ref: Ref): void;
  /** Work a frame started that settles after its message handler returned failed (goes to the handler guard). */
  asyncFailed(conn: C, err: unknown): void;
}

export type Ref = string | number | undefined;

/** `refresh_token` data. A JWT is compact; 8 KiB is far past any real one. */
const refreshTokenData = z.object({ token: z.string().min(1).max(8192) });

export function fail(conn: DispatchConnection, code: ErrorCode, message: string, ref: Ref): void {
  conn.send(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref });
}

export function reply(conn: DispatchConnection, ref: Ref, data?: unknown): void {
  if (ref === undefined) return;
  conn.send(data === undefined ? { type: 'reply', ref, ok: true } : { type: 'reply', ref, ok: true, data });
}

function replies<C extends DispatchConnection>(ctx: DispatchContext<C>, conn: C, ref: Ref): AckReplies {
  return {
    fail: (code, message) => fail(conn, code, message, ref),
    reply: (data) => reply(conn, ref, data),
    asyncFailed: (err) => ctx.asyncFailed(conn, err),
  };
}

/** One text frame from a client: parsed, validated, acted on. Never throws to the socket. */
export function dispatchText<C extends DispatchConnection>(ctx: DispatchContext<C>, conn: C, text: string): void {
  if (jsonTextTooDeep(text)) {
    return fail(conn, ErrorCode.invalidFrame, `frame nests deeper than ${MAX_JSON_DEPTH} levels`, undefined);
  }
  const parsed = parseClientFrame(text);
  if (!parsed.ok) return fail(conn, parsed.code, parsed.message, parsed.ref);
  const frame = parsed.frame;
  switch (frame.type) {
    case 'command':
      return command(ctx, conn, frame);
    case 'channel_message':
      return channelMessage(ctx, conn, frame.channel, frame.message, frame.ref);
    case 'text':
      return conn.send({ type: 'text', data: frame.data });
    case 'json':
      return conn.send({ type: 'json', data: frame.data });
    case 'webrtc_signal': {
      const result = ctx.signaling.signal(conn, frame);
      if (result instanceof Promise) void result.then((error) => signalDone(conn, error, frame.ref));
      else signalDone(conn, result, frame.ref);
      return;
    }
  }
}

function signalDone(conn: DispatchConnection, error: SignalRefusal | null, ref: Ref): void {
  if (error !== null) fail(conn, error.code, error.message, ref);
  else reply(conn, ref);
}

function command<C extends DispatchConnection>(
  ctx: DispatchContext<C>,
  conn: C,
  frame: Extract<ClientFrame, { type: 'command' }>,
): void {
  const ref = frame.ref;
  switch (frame.command) {
    case 'ping':
      if (ref === undefined) conn.send({ type: 'pong' });
      else reply(conn, ref, { pong: true, time: new Date().toISOString() });
      return;
    case 'join_channel':
      return join(ctx, conn, frame.data, ref);
    case 'leave_channel':
      return leave(ctx, conn, frame.data, ref);
    case 'ack': {
      const acks = ctx.hub.acks;
      if (acks === null)
        return fail(conn, ErrorCode.unknownCommand, 'ack: this gateway has no acknowledged delivery', ref);
      return ackCommand(acks, conn, frame.data, replies(ctx, conn, ref));
    }
    case 'refresh_token': {
      const parsed = refreshTokenData.safeParse(frame.data);
      if (!parsed.success)
        return fail(conn, ErrorCode.invalidFrame, `data.${describeIssues(parsed.error.issues)}`, ref);
      return ctx.refreshToken(conn, parsed.data.token, ref);
    }
    default:
      return fail(
        conn,
        ErrorCode.unknownCommand,
        `unknown command ${JSON.stringify(frame.command).slice(0, 80)}; expected join_channel, leave_channel, ack, refresh_token or ping`,
        ref,
      );
  }
}

function join<C extends DispatchConnection>(ctx: DispatchContext<C>, conn: C, data: unknown, ref: Ref): void {
  const parsed = channelCommandData.safeParse(data);
  if (!parsed.success) return fail(conn, ErrorCode.invalidFrame, `data.${describeIssues(parsed.error.issues)}`, ref);
  const { channel, since, ack } = parsed.data;
  if (!isValidChannelName(channel)) {
    return fail(conn, ErrorCode.invalidChannel, `invalid channel name ${JSON.stringify(channel).slice(0, 140)}`, ref);
  }
  const denied = joinDenied(conn.identity, channel, ctx.appChannels);
  if (denied !== null) return fail(conn, ErrorCode.forbidden, denied, ref);
  let sinceId: number | null = null;
  if (since !== undefined) {
    sinceId = parseEventId(since);
    if (sinceId === null) return fail(conn, ErrorCode.invalidFrame, 'data.since: expected an event id', ref);
  }
  const acks = ctx.hub.acks;
  const ackSub = acks === null ? undefined : acks.get(conn, channel);
  const held = conn.channels.size + (acks === null ? 0 : acks.count(conn));
  if (!conn.channels.has(channel) && ackSub === undefined && held >= ctx.channelsPerConnection) {
    return fail(conn, ErrorCode.tooManyChannels, `at most ${ctx.channelsPerConnection} channels per connection`, ref);
  }
  if (ack === true) {
    if (acks === null)
      return fail(conn, ErrorCode.invalidFrame, 'data.ack: this gateway has no acknowledged delivery', ref);
    return joinAcked(ctx.hub, acks, conn, channel, sinceId, replies(ctx, conn, ref));
  }
  // Joining without ack ends an acknowledged subscription to the channel.
  if (ackSub !== undefined) {
    ctx.hub.unsubscribe(ackSub, channel);
    acks!.remove(ackSub);
  }
  const joined = ctx.hub.join(conn, [channel], sinceId);
  if (joined instanceof Promise)
    joined
      .then((r) => joinDone(ctx, conn, channel, sinceId, r, ref))
      .catch((err: unknown) => ctx.asyncFailed(conn, err));
  else joinDone(ctx, conn, channel, sinceId, joined, ref);
}

/**
 * After a join: the recovery notice, then the replay, then the reply — whose
 * `last_id` is the resume position for a client that has seen no event yet.
 */
function joinDone<C extends DispatchConnection>(
  ctx: DispatchContext<C>,
  conn: C,
  channel: string,
  since: number | null,
  r: JoinResult,
  ref: Ref,
): void {
  const recovered = r.failed.length === 0;
  if (!recovered) {
    conn.send({ type: 'event', channel, event: 'system', id: null, data: { type: 'recovery_failed' } });
  }
  if (r.missed !== null) writeReplay(conn, r.missed);
  const lastId = String(ctx.hub.positionFor([channel]));
  reply(conn, ref, since === null ? { channel, last_id: lastId } : { channel, recovered, last_id: lastId });
}

function leave<C extends DispatchConnection>(ctx: DispatchContext<C>, conn: C, data: unknown, ref: Ref): void {
  const parsed = channelCommandData.safeParse(data);
  if (!parsed.success) return fail(conn, ErrorCode.invalidFrame, `data.${describeIssues(parsed.error.issues)}`, ref);
  const { channel } = parsed.data;
  const ackSub = ctx.hub.acks?.get(conn, channel);
  if (ackSub !== undefined) {
    ctx.hub.unsubscribe(ackSub, channel);
    ctx.hub.unsubscribe(conn, channel); // an inbox subscription stands beside the plain user channel
    ctx.hub.acks!.remove(ackSub);
    return reply(conn, ref, { channel });
  }
  if (!ctx.hub.unsubscribe(conn, channel)) {
    return fail(conn, ErrorCode.notSubscribed, `not subscribed to ${JSON.stringify(channel).slice(0, 140)}`, ref);
  }
  reply(conn, ref, { channel });
}

function channelMessage<C extends DispatchConnection>(
  ctx: DispatchContext<C>,
  conn: C,
  channel: string,
  message: unknown,
  ref: Ref,
): void {
  if (!isValidChannelName(channel)) {
    return fail(conn, ErrorCode.invalidChannel, `invalid channel name ${JSON.stringify(channel).slice(0, 140)}`, ref);
  }
  const denied = publishDenied(conn.identity, channel, ctx.appChannels);
  if (denied !== null) return fail(conn, ErrorCode.forbidden, denied, ref);
  const owner = ctx.appChannels.ownerOf(channel);
  if (owner !== null) {
    owner.publish(conn, channel, message).then(
      (data) => reply(conn, ref, data),
      (err: Error) =>
        err instanceof HubcastError
          ? fail(conn, err.code, err.message, ref)
          : fail(conn, ErrorCode.internal, `publish failed: ${err.message}`, ref),
    );
    return;
  }
  ctx.hub.publishEvent(channel, 'message', { message, user_id: conn.userId, client_id: conn.clientId }).then(
    (result) => reply(conn, ref, { id: result.id, delivered: result.delivered }),
    (err: Error) => fail(conn, ErrorCode.internal, `publish failed: ${err.message}`, ref),
  );
}

/** One binary frame: relayed to its channel's WS subscribers, or echoed when it names none. */
export function dispatchBinary(ctx: DispatchContext, conn: WsConnection, frame: Buffer): void {
  const parsed = parseBinaryMessage(frame);
  if (!parsed.ok) return fail(conn, ErrorCode.invalidFrame, parsed.message, undefined);
  const channel = parsed.header.channel;
  if (channel === undefined) {
    conn.write(encodeBinaryEcho(frame));
    return;
  }
  const denied = publishDenied(conn.identity, channel, ctx.appChannels);
  if (denied !== null) return fail(conn, ErrorCode.forbidden, denied, undefined);
  // An application channel takes only what its application checks and stores.
  if (ctx.appChannels.ownerOf(channel) !== null)
    return fail(conn, ErrorCode.forbidden, `${channel} takes no binary messages`, undefined);
  ctx.hub
    .publishBinary(channel, frame)
    .catch((err: Error) =>
      fail(conn, ErrorCode.internal, `binary message reached this node's subscribers only: ${err.message}`, undefined),
    );
}

function encodeBinaryEcho(frame: Buffer): Buffer {
  return encodeFrame(frame, OPCODE_BINARY);
}

/**
 * After `refresh_token` swapped a connection's identity: leave every channel, and every `ack: true`
 * subscription, the new token no longer grants. Answers the channels left.
 */
export function leaveRevoked(
  hub: Hub,
  conn: DispatchConnection,
  identity: Identity,
  owned: ChannelOwnership,
): string[] {
  const left: string[] = [];
  for (const channel of [...conn.channels]) {
    if (joinDenied(identity, channel, owned) !== null && hub.unsubscribe(conn, channel)) left.push(channel);
  }
  // `ack: true` subscriptions stand beside the connection's own channels (src/ack/).
  if (hub.acks !== null)
    left.push(
      ...hub.acks.leaveWhere(
        conn,
        (channel) => joinDenied(identity, channel, owned) !== null && !left.includes(channel),
      ),
    );
  return left;
}
