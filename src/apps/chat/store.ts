import type { ChatMessage, ChatPost } from './message.js';

export interface StoredPost {
  message: ChatMessage;
  /** False when the post repeated a stored `client_msg_id`: `message` is the stored one, nothing new to publish. */
  created: boolean;
}

export interface HistoryPage {
  /** Oldest … newest. */
  messages: ChatMessage[];
  /** Pass as `before` for the next older page; null when this page reaches the room's first message. */
  next_before: string | null;
}

export interface RoomSummary {
  room: string;
  messages: number;
  last_message_at: string;
}

/**
 * Where chat messages live. One driver today (sql-store.ts: PostgreSQL, and
 * PGlite through the same SQL); the contract suite in test/chat/ runs against
 * each.
 */
export interface ChatStore {
  /** Store a post (idempotent per user, room and client_msg_id). Rejects when the database does. */
  post(post: ChatPost): Promise<StoredPost>;
  /** The newest `limit` messages of `room` with an id below `before` (null: the newest). */
  history(room: string, limit: number, before: number | null): Promise<HistoryPage>;
  /** Rooms with messages, most recently active first. */
  rooms(limit: number): Promise<RoomSummary[]>;
}
