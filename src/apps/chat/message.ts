import { z } from 'zod';
import { ErrorCode } from '../../codes.js';
import { HubcastError, describeIssues } from '../../errors.js';

/** A room is the channel `chat:<room>`. */
export const CHAT_PREFIX = 'chat:';
const ROOM = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_TEXT_CHARS = 4000;
export const MAX_CLIENT_MSG_ID_CHARS = 64;
/** The event every stored post is published as, on its room's channel. */
export const CHAT_MESSAGE_EVENT = 'chat.message';
/** Relayed, never stored: someone is typing in the room. */
export const CHAT_TYPING_EVENT = 'chat.typing';
/** A typing signal shows for this long unless renewed; clients drop it after `expires_at`. */
export const TYPING_TTL_MS = 6000;
/** Per user and room, typing signals closer together than this are folded into the last one. */
export const TYPING_MIN_INTERVAL_MS = 2000;

/** A chat message on the wire (docs/protocol.md, "Chat"). */
export interface ChatMessage {
  id: string;
  room: string;
  user_id: string;
  text: string;
  created_at: string;
  client_msg_id?: string;
}

/** A post, validated: what the store is given. */
export interface ChatPost {
  room: string;
  userId: string;
  text: string;
  clientMsgId: string | null;
}

export function isValidRoom(room: unknown): room is string {
  return typeof room === 'string' && ROOM.test(room);
}

/** `chat:<room>` → room, or null when the channel is not a valid chat channel. */
export function roomOf(channel: string): string | null {
  if (!channel.startsWith(CHAT_PREFIX)) return null;
  const room = channel.slice(CHAT_PREFIX.length);
  return ROOM.test(room) ? room : null;
}

export const channelOf = (room: string): string => CHAT_PREFIX + room;

/**
 * Ids are the database's identity column, rendered zero-padded to 16 digits:
 * one sequence for the whole cluster, so ids sort the same on every node, and
 * as strings the same as numbers (2^53 has 16 digits: the padding never runs out
 * before JavaScript numbers do).
 */
const ID_DIGITS = 16;
export const formatId = (id: number): string => String(id).padStart(ID_DIGITS, '0');

/** A message id from a client (`before=`), padded or not; null when it is not one. */
export function parseId(text: string): number | null {
  if (!/^[0-9]{1,16}$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** C0 controls other than tab and newlines, and DEL: never part of chat text (PostgreSQL refuses NUL outright). */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
/** A surrogate half without its partner: not encodable as UTF-8, so not storable. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (t: string): boolean => !LONE_SURROGATE.test(t);

const text = z
  .string({ error: 'expected a string' })
  .refine((t) => t.trim().length > 0, { message: 'must not be empty' })
  .refine((t) => t.length <= MAX_TEXT_CHARS * 2 && [...t].length <= MAX_TEXT_CHARS, {
    message: `at most ${MAX_TEXT_CHARS} characters`,
  })
  .refine((t) => !CONTROL.test(t), { message: 'contains control characters' })
  .refine((t) => wellFormed(t), { message: 'is not well-formed Unicode (lone surrogate)' });

const clientMsgId = z
  .string({ error: 'expected a string' })
  .min(1, { message: 'must not be empty' })
  .max(MAX_CLIENT_MSG_ID_CHARS, { message: `at most ${MAX_CLIENT_MSG_ID_CHARS} characters` })
  .refine((t) => !CONTROL.test(t) && wellFormed(t), { message: 'contains control characters' });

/** What a client posts: `{"text", "client_msg_id"?}`; anything else is refused by name. */
const postBody = z.strictObject(
  { text, client_msg_id: clientMsgId.optional() },
  { error: (issue) => (issue.code === 'invalid_type' ? 'expected an object {"text", "client_msg_id"?}' : undefined) },
);

/** `{"typing": true}`: the one message on a chat channel that is a signal, not a post. */
export function isTypingSignal(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === 'typing' && (value as { typing: unknown }).typing === true;
}

/** Validate a post's message (the WS `message`, or the HTTP body without `user_id`); throws `invalid_message`. */
export function parsePost(value: unknown): { text: string; clientMsgId: string | null } {
  const parsed = postBody.safeParse(value);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.length ? 'message.' : 'message: ';
    throw new HubcastError(ErrorCode.invalidMessage, `${where}${describeIssues(parsed.error.issues)}`, 400);
  }
  return { text: parsed.data.text, clientMsgId: parsed.data.client_msg_id ?? null };
}
