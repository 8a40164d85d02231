import type { Migration } from '../../store/migrate.js';

/**
 * Chat's own schema, numbered apart from the catalog's (recorded in
 * `chat_schema_migrations`), so the application carries its tables with it.
 * Never edit a released migration: add the next number.
 */
export const CHAT_MIGRATIONS_TABLE = 'chat_schema_migrations';

export const chatMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'chat_messages',
    sql: /* sql */ `
-- One row per accepted post. The identity is the cluster-wide order: every
-- node draws from the same sequence, so ids sort the same everywhere.
CREATE TABLE chat_messages (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  room          text NOT NULL CHECK (room ~ '^[A-Za-z0-9_-]{1,64}$'),
  user_id       text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 200),
  text          text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 4000),
  client_msg_id text CHECK (char_length(client_msg_id) BETWEEN 1 AND 64),
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Keyset pagination: the newest N of a room older than an id is one index range scan,
-- as fast a million messages deep as at the top.
CREATE INDEX chat_messages_room_id ON chat_messages (room, id);

-- A retried post (same user, room and client_msg_id) finds the first one.
CREATE UNIQUE INDEX chat_messages_client_msg ON chat_messages (user_id, room, client_msg_id) WHERE client_msg_id IS NOT NULL;

-- Per-room counters, updated in the statement that stores a post: the rooms
-- list never counts messages.
CREATE TABLE chat_rooms (
  room            text PRIMARY KEY,
  messages        bigint NOT NULL DEFAULT 0 CHECK (messages >= 0),
  last_message_at timestamptz NOT NULL
);

CREATE INDEX chat_rooms_last_message_at ON chat_rooms (last_message_at DESC);
`,
  },
];
