import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MemoryInbox } from './inbox-memory.js';
import type { InboxEntry } from './inbox.js';

/**
 * The embedded inbox survives a graceful restart like the history does:
 * shutdown writes it to DATA_DIR, the next boot reads it back and deletes
 * the file (a crash loses it; with REDIS_URL the inbox is in Redis).
 */
const FILE = 'inbox-snapshot.json';

interface Snapshot {
  version: 1;
  users: Record<string, Array<[id: number, event: string, dataJson: string, text: 0 | 1, publishedAt: number]>>;
}

export async function saveInboxSnapshot(dir: string, inbox: MemoryInbox): Promise<void> {
  const snapshot: Snapshot = { version: 1, users: {} };
  for (const [userId, entries] of inbox.entries()) {
    snapshot.users[userId] = entries.map((e) => [e.id, e.event, e.dataJson, e.text ? 1 : 0, e.publishedAt]);
  }
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(snapshot));
  await rename(tmp, join(dir, FILE));
}

/** Returns how many entries came back (0 when there was no snapshot). */
export async function restoreInboxSnapshot(dir: string, inbox: MemoryInbox): Promise<number> {
  const path = join(dir, FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const snapshot = JSON.parse(text) as Snapshot;
  if (snapshot.version !== 1) throw new Error(`${path}: unknown inbox snapshot version ${String(snapshot.version)}`);
  let n = 0;
  for (const [userId, rows] of Object.entries(snapshot.users)) {
    for (const [id, event, dataJson, text, publishedAt] of rows) {
      const entry: InboxEntry = { id, event, dataJson, text: text === 1, publishedAt };
      await inbox.push(userId, entry);
      n++;
    }
  }
  await rm(path, { force: true });
  return n;
}
