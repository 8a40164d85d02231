import type { Migration } from '../store/migrate.js';

/**
 * The uploads' schema, numbered apart from the catalog's (recorded in
 * `file_schema_migrations`). Never edit a released migration: add the next number.
 */
export const FILE_MIGRATIONS_TABLE = 'file_schema_migrations';

export const fileMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'uploaded_files',
    sql: /* sql */ `
-- One row per upload, bytes included: every node reads what any node stored.
-- Uploads are at most UPLOAD_MAX_BYTES (10 MiB by default), well inside bytea's 1 GB.
CREATE TABLE uploaded_files (
  id           uuid PRIMARY KEY,
  filename     text NOT NULL,
  content_type text NOT NULL,
  size         integer NOT NULL CHECK (size >= 0),
  bytes        bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
`,
  },
];
