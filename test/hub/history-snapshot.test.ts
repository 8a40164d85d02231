import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryHistory } from '../../src/hub/history.js';
import { EventIdSequence } from '../../src/hub/ids.js';
import { Publication } from '../../src/hub/publication.js';
import { saveHistorySnapshot, restoreHistorySnapshot } from '../../src/hub/history-snapshot.js';

test('a graceful-restart snapshot restores history and coverage once, then is gone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hubcast-snap-'));
  const ids1 = new EventIdSequence(1_000_000);
  const h1 = new MemoryHistory({ size: 10, floor: ids1.floor });
  const published = [1, 2, 3].map((n) => {
    const p = new Publication(ids1.next(), 'ch', 'e', { n });
    h1.append(p);
    return p.id;
  });
  await saveHistorySnapshot(dir, h1, ids1);

  const ids2 = new EventIdSequence(2_000_000);
  const h2 = new MemoryHistory({ size: 10, floor: ids2.floor });
  assert.equal(await restoreHistorySnapshot(dir, h2, ids2), 3);
  const r = h2.since('ch', published[0]);
  assert.ok(r.ok);
  assert.deepEqual(r.ok && r.publications.map((p) => JSON.parse(p.dataJson).n), [2, 3]);
  assert.ok(ids2.next() > published[2]);
  assert.deepEqual(await readdir(dir), [], 'consumed: a later crash cannot reuse it');

  const ids3 = new EventIdSequence(3_000_000);
  const h3 = new MemoryHistory({ size: 10, floor: ids3.floor });
  assert.equal(await restoreHistorySnapshot(dir, h3, ids3), 0);
  assert.deepEqual(h3.since('ch', published[0]), { ok: false, reason: 'unknown_position' });
});

test('a snapshot keeps what each channel lost: a restored ring does not replay a partial history as whole', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hubcast-snap-'));
  const ids1 = new EventIdSequence(1_000_000);
  const h1 = new MemoryHistory({ size: 2, maxChannels: 2, floor: ids1.floor });
  const add = (h: MemoryHistory, channel: string) => {
    const p = new Publication(ids1.next(), channel, 'e', 1);
    h.append(p);
    return p.id;
  };
  const first = add(h1, 'ring'); // evicted by the ring bound below
  add(h1, 'ring');
  add(h1, 'ring');
  const gone = add(h1, 'dropped'); // dropped whole by the channel bound below
  add(h1, 'ring');
  add(h1, 'other');
  assert.equal(h1.since('ring', first - 1).ok, false);
  assert.equal(h1.since('dropped', gone - 1).ok, false);
  await saveHistorySnapshot(dir, h1, ids1);

  const ids2 = new EventIdSequence(2_000_000);
  const h2 = new MemoryHistory({ size: 2, maxChannels: 2, floor: ids2.floor });
  await restoreHistorySnapshot(dir, h2, ids2);
  assert.deepEqual(
    h2.since('ring', first - 1),
    { ok: false, reason: 'history_gap' },
    'the ring still knows it lost `first`',
  );
  assert.deepEqual(
    h2.since('dropped', gone - 1),
    { ok: false, reason: 'history_gap' },
    'the dropped channel still knows',
  );
  assert.equal(h2.since('other', first - 1).ok, true, 'a channel that lost nothing still resumes');
});
