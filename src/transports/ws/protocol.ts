import { z } from 'zod';
import { ErrorCode } from '../../codes.js';
import { describeIssues } from '../../errors.js';
import { MAX_PEER_ID_LENGTH } from '../webrtc/peer-id.js';

/** Client → server frames (docs/protocol.md, "WebSocket"). Compiled once; every text frame passes through here. */
const ref = z.union([z.string().max(128), z.number()]).optional();

const commandFrame = z.object({
  type: z.literal('command'),
  command: z.string().min(1).max(64),
  data: z.unknown().optional(),
  ref,
});

const channelMessageFrame = z.object({
  type: z.literal('channel_message'),
  channel: z.string().min(1),
  message: z.unknown().refine((v) => v !== undefined, { message: 'message is required' }),
  ref,
});

const textFrame = z.object({ type: z.literal('text'), data: z.string(), ref });
const jsonFrame = z.object({
  type: z.literal('json'),
  data: z.unknown().refine((v) => v !== undefined, { message: 'data is required' }),
  ref,
});

export const signalTypes = ['offer', 'answer', 'ice_candidate', 'bye'] as const;
const webrtcSignalFrame = z.object({
  type: z.literal('webrtc_signal'),
  signal_type: z.enum(signalTypes),
  target_peer_id: z.string().min(1).max(MAX_PEER_ID_LENGTH),
  sdp: z.unknown().optional(),
  candidate: z.unknown().optional(),
  ref,
});

const frameSchemas = {
  command: commandFrame,
  channel_message: channelMessageFrame,
  text: textFrame,
  json: jsonFrame,
  webrtc_signal: webrtcSignalFrame,
} as const;

export type ClientFrame =
  | z.infer<typeof commandFrame>
  | z.infer<typeof channelMessageFrame>
  | z.infer<typeof textFrame>
  | z.infer<typeof jsonFrame>
  | z.infer<typeof webrtcSignalFrame>;

export type FrameResult =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string; ref?: string | number };

/** Parse one text frame; the error names what was wrong. */
export function parseClientFrame(text: string): FrameResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: ErrorCode.invalidJson, message: `frame is not valid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: ErrorCode.invalidFrame, message: 'frame must be a JSON object with a "type"' };
  }
  const obj = value as Record<string, unknown>;
  const refValue = typeof obj.ref === 'string' || typeof obj.ref === 'number' ? obj.ref : undefined;
  if (typeof obj.type !== 'string') {
    return { ok: false, code: ErrorCode.invalidFrame, message: 'type: expected a string', ref: refValue };
  }
  // Own keys only: `__proto__`, `constructor` or `toString` must not find Object.prototype's members.
  const schema = Object.hasOwn(frameSchemas, obj.type)
    ? (frameSchemas as Record<string, z.ZodType<ClientFrame>>)[obj.type]
    : undefined;
  if (schema === undefined) {
    return {
      ok: false,
      code: ErrorCode.unknownType,
      message: `unknown type ${JSON.stringify(obj.type).slice(0, 80)}; expected one of ${Object.keys(frameSchemas).join(', ')}`,
      ref: refValue,
    };
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    return { ok: false, code: ErrorCode.invalidFrame, message: describeIssues(parsed.error.issues), ref: refValue };
  }
  return { ok: true, frame: parsed.data };
}

/** `join_channel` / `leave_channel` data. */
export const channelCommandData = z.object({
  channel: z.string().min(1),
  since: z.union([z.string(), z.number()]).optional(),
  /** At-least-once delivery on this subscription (src/ack/). */
  ack: z.boolean().optional(),
});

/** `ack` data: the newest event id the client is done with on its subscription. */
export const ackCommandData = z.object({
  id: z.union([z.string().min(1).max(32), z.number()]),
  channel: z.string().min(1).optional(),
});
