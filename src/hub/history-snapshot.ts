import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HistoryLoss, MemoryHistory } from './history.js';
import type { EventIdSequence } from './ids.js';
import { Publication } from './publication.js';

/**
 * In-memory history survives a graceful restart: shutdown writes it to
 * DATA_DIR, the next boot reads it back and deletes the file. A crash leaves
 * no file, so the next process honestly answers `recovery_failed` for ids
 * from before it started instead of claiming a history it does not have.
 */
const FILE = 'history-snapshot.json';

interface Snapshot {
  version: 1;
  floor: number;
  lastId: number;
  savedAt: string;
  publications: Array<[id: number, channel: string, event: string, dataJson: string, publishedAt: number, text: 0 | 1]>;
  /** What channels had lost before the snapshot (absent in snapshots of older versions). */
  lost?: HistoryLoss;
}

export async function saveHistorySnapshot(dir: string, history: MemoryHistory, ids: EventIdSequence): Promise<void> {
  const snapshot: Snapshot = {
    version: 1,
    floor: history.coveredFrom,
    lastId: ids.current,
    savedAt: new Date().toISOString(),
    publications: [],
    lost: history.lossState(),
  };
  for (const p of history.entries())
    snapshot.publications.push([p.id, p.channel, p.event, p.dataJson, p.publishedAt, p.isText ? 1 : 0]);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(snapshot));
  await rename(tmp, join(dir, FILE));
}

/** Load and consume a snapshot; returns how many publications came back (0 when none). */
export async function restoreHistorySnapshot(
  dir: string,
  history: MemoryHistory,
  ids: EventIdSequence,
): Promise<number> {
  const path = join(dir, FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  await rm(path, { force: true });
  const snapshot = JSON.parse(text) as Snapshot;
  if (snapshot.version !== 1 || !Array.isArray(snapshot.publications)) return 0;
  const sorted = snapshot.publications.sort((a, b) => a[0] - b[0]);
  for (const [id, channel, event, dataJson, publishedAt, text] of sorted) {
    history.append(Publication.fromJson(id, channel, event, dataJson, text === 1, publishedAt));
  }
  if (snapshot.lost !== undefined) history.restoreLoss(snapshot.lost);
  // Everything from the old floor up to now is accounted for: nothing was
  // published between the old process's last id and this one's first.
  ids.advanceTo(snapshot.lastId);
  history.setFloor(snapshot.floor);
  return sorted.length;
}
