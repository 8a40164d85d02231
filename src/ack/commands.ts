import { ErrorCode } from '../codes.js';
import { describeIssues } from '../errors.js';
import { parseEventId } from '../hub/ids.js';
import type { Hub } from '../hub/hub.js';
import type { Subscriber } from '../hub/subscriber.js';
import { writeReplay } from '../transports/replay-pump.js';
import { ackCommandData } from '../transports/ws/protocol.js';
import { eventId, frameFor, messagesOf, redeliveredJson, type AckConnection, type Acks } from './acks.js';

/** What the ack commands answer through (dispatch's fail/reply). */
export interface AckReplies {
  fail(code: ErrorCode, message: string): void;
  reply(data: unknown): void;
  asyncFailed(err: unknown): void;
}

/**
 * `join_channel` with `ack: true` (validated by dispatch). With `since`, the
 * replay starts at the user's acknowledged position when that is older, and
 * what the client had already been sent (ids up to its `since`) comes again
 * marked `redelivered`.
 */
export function joinAcked(
  hub: Hub,
  acks: Acks,
  conn: AckConnection & Subscriber,
  channel: string,
  since: number | null,
  out: AckReplies,
): void {
  const userId = conn.userId;
  // Without the stored position a replay from `since` could skip events the client was sent but
  // never acknowledged: the join is refused (`unavailable`) rather than answered short.
  const stored =
    userId !== null && since !== null
      ? acks.positions.get(userId, channel).then(
          (position) => ({ position }),
          (err: Error) => ({ position: null, failed: err }),
        )
      : Promise.resolve({ position: null });
  void stored
    .then(async (read: { position: number | null; failed?: Error }) => {
      if (conn.socket.destroyed) return;
      if (read.failed !== undefined)
        return out.fail(
          ErrorCode.unavailable,
          `the acknowledged position of ${JSON.stringify(channel).slice(0, 140)} cannot be read now (${read.failed.message.slice(0, 100)}): join again`,
        );
      const { position } = read;
      const from = since === null ? null : position !== null && position < since ? position : since;
      // A plain subscription to the same channel gives way: one subscription per channel.
      hub.unsubscribe(conn, channel);
      const sub = acks.open(conn, channel);
      const startAt = hub.positionFor([channel]);
      if (userId !== null && position === null) {
        const start = from ?? startAt;
        if (start > 0) acks.savePosition(userId, channel, start);
        else sub.positionKnown = false;
      }
      const r = await hub.join(sub, [channel], from);
      if (sub.closed) return;
      if (r.failed.length > 0) {
        conn.write(
          frameFor(
            JSON.stringify({ type: 'event', channel, event: 'system', id: null, data: { type: 'recovery_failed' } }),
            conn.transport,
          ),
        );
      }
      if (r.missed !== null) {
        const frames = r.missed.map((frame) => {
          if (since === null) return frame;
          const json = messagesOf(frame, conn.transport)[0];
          const id = json === undefined ? null : eventId(json);
          return id !== null && id <= since ? frameFor(redeliveredJson(json!), conn.transport) : frame;
        });
        for (const frame of frames) sub.observe(frame);
        writeReplay(conn, frames);
      }
      const data: Record<string, unknown> = { channel, last_id: String(hub.positionFor([channel])), ack: true };
      if (since !== null) data.recovered = r.failed.length === 0;
      out.reply(data);
    })
    .catch((err: unknown) => out.asyncFailed(err));
}

/** `ack`: everything up to `data.id` on the subscription that was sent it is done with. */
export function ackCommand(acks: Acks, conn: AckConnection, data: unknown, out: AckReplies): void {
  const parsed = ackCommandData.safeParse(data);
  if (!parsed.success) return out.fail(ErrorCode.invalidFrame, `data.${describeIssues(parsed.error.issues)}`);
  const id = parseEventId(parsed.data.id);
  if (id === null) return out.fail(ErrorCode.invalidFrame, 'data.id: expected an event id');
  const channel = parsed.data.channel;
  const sub = channel !== undefined ? acks.get(conn, channel) : acks.find(conn, id);
  if (sub === undefined) {
    if (channel !== undefined)
      return out.fail(ErrorCode.notSubscribed, `no ack: true subscription to ${JSON.stringify(channel).slice(0, 140)}`);
    // Acknowledged already, or never sent here (a redelivery acked twice): nothing to do.
    return out.reply({ id: String(id), pending: 0 });
  }
  sub.ack(id);
  acks.acked++;
  const userId = conn.userId;
  if (userId !== null) {
    acks.savePosition(userId, sub.channel, sub.lastAcked);
    // Gone from the inbox once acknowledged: never sent again, on any node.
    if (sub.inbox && acks.inbox !== null) acks.inbox.ack(userId, id).catch((err: unknown) => out.asyncFailed(err));
  }
  out.reply({ id: String(id), channel: sub.channel, pending: sub.pending });
}
