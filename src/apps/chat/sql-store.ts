import type { Database } from '../../store/database.js';
import { migrate } from '../../store/migrate.js';
import type { Logger } from '../../logger.js';
import { formatId, type ChatMessage, type ChatPost } from './message.js';
import { CHAT_MIGRATIONS_TABLE, chatMigrations } from './migrations.js';
import type { ChatStore, HistoryPage, RoomSummary, StoredPost } from './store.js';

interface Row {
  id: number;
  room: string;
  user_id: string;
  text: string;
  client_msg_id: string | null;
  created_at: Date;
}

const COLUMNS = 'id, room, user_id, text, client_msg_id, created_at';

/**
 * Stores a post and counts it in its room in ONE statement (one round trip,
 * one implicit transaction): either both happen or neither. A repeated
 * client_msg_id inserts nothing, so nothing is counted either.
 */
const INSERT = /* sql */ `
WITH ins AS (
  INSERT INTO chat_messages (room, user_id, text, client_msg_id) VALUES ($1, $2, $3, $4)
  ON CONFLICT (user_id, room, client_msg_id) WHERE client_msg_id IS NOT NULL DO NOTHING
  RETURNING ${COLUMNS}
), counted AS (
  INSERT INTO chat_rooms (room, messages, last_message_at)
  SELECT room, 1, created_at FROM ins
  ON CONFLICT (room) DO UPDATE SET
    messages = chat_rooms.messages + 1,
    last_message_at = GREATEST(chat_rooms.last_message_at, EXCLUDED.last_message_at)
)
SELECT ${COLUMNS} FROM ins`;

const EXISTING = `SELECT ${COLUMNS} FROM chat_messages WHERE user_id = $1 AND room = $2 AND client_msg_id = $3`;
// Two texts rather than `$2 IS NULL OR id < $2`, which keeps a generic plan from using the index bound.
const NEWEST = `SELECT ${COLUMNS} FROM chat_messages WHERE room = $1 ORDER BY id DESC LIMIT $2`;
const OLDER = `SELECT ${COLUMNS} FROM chat_messages WHERE room = $1 AND id < $2 ORDER BY id DESC LIMIT $3`;
// Rooms whose last messages share a timestamp (the clock's resolution) come in name order, not at random.
const ROOMS = 'SELECT room, messages, last_message_at FROM chat_rooms ORDER BY last_message_at DESC, room LIMIT $1';

export function toWire(row: Row): ChatMessage {
  const m: ChatMessage = {
    id: formatId(row.id),
    room: row.room,
    user_id: row.user_id,
    text: row.text,
    created_at: row.created_at.toISOString(),
  };
  if (row.client_msg_id !== null) m.client_msg_id = row.client_msg_id;
  return m;
}

/** Chat messages in PostgreSQL (or PGlite: the same SQL). */
export class SqlChatStore implements ChatStore {
  private readonly db: Database;

  private constructor(db: Database) {
    this.db = db;
  }

  /** Bring chat's schema up to date (every node may race here: migrate locks), then serve. */
  static async open(db: Database, logger?: Logger): Promise<SqlChatStore> {
    await migrate(db, logger, chatMigrations, CHAT_MIGRATIONS_TABLE);
    return new SqlChatStore(db);
  }

  /** Serve from a database whose chat schema is current (the gateway migrated it: the application's `migrations`). */
  static migrated(db: Database): SqlChatStore {
    return new SqlChatStore(db);
  }

  async post(post: ChatPost): Promise<StoredPost> {
    const [row] = await this.db.query<Row>(INSERT, [post.room, post.userId, post.text, post.clientMsgId]);
    if (row !== undefined) return { message: toWire(row), created: true };
    // Only a client_msg_id conflict inserts nothing; the row it conflicted with is committed (ON CONFLICT waited for it).
    const [existing] = await this.db.query<Row>(EXISTING, [post.userId, post.room, post.clientMsgId]);
    if (existing === undefined)
      throw new Error(`chat post by ${post.userId} in ${post.room} was neither stored nor found`);
    return { message: toWire(existing), created: false };
  }

  async history(room: string, limit: number, before: number | null): Promise<HistoryPage> {
    // One more than asked: whether it exists says if there is an older page.
    const rows =
      before === null
        ? await this.db.query<Row>(NEWEST, [room, limit + 1])
        : await this.db.query<Row>(OLDER, [room, before, limit + 1]);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    page.reverse();
    const messages = page.map(toWire);
    return { messages, next_before: more && messages.length > 0 ? messages[0].id : null };
  }

  async rooms(limit: number): Promise<RoomSummary[]> {
    const rows = await this.db.query<{ room: string; messages: number; last_message_at: Date }>(ROOMS, [limit]);
    return rows.map((r) => ({ room: r.room, messages: r.messages, last_message_at: r.last_message_at.toISOString() }));
  }
}
