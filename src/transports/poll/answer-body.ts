import type { Publication } from '../../hub/publication.js';
import { BROADCAST_CHANNEL } from '../../hub/channel-name.js';

/** Bytes of events in one answer at most (one event always fits, whatever its size). */
const MAX_ANSWER_BYTES = 1 << 20;
const EVENTS_OPEN = Buffer.from('{"events":[');
const COMMA = Buffer.from(',');

/** How many of `found` go in one answer: at most `maxEvents` and about 1 MiB, never none. */
export function answerCount(found: Publication[], maxEvents: number): number {
  let n = 0;
  let bytes = 0;
  while (n < found.length && n < maxEvents && (n === 0 || bytes + found[n].tcpLine().length <= MAX_ANSWER_BYTES)) {
    bytes += found[n].tcpLine().length;
    n++;
  }
  return n;
}

/** `{"events":[…],"last_id"}` of the first `n` of `found`: each event the TCP line (framed once per publication) without its newline. */
export function renderEventsBody(found: Publication[], n: number): Buffer {
  const parts: Buffer[] = [EVENTS_OPEN];
  for (let i = 0; i < n; i++) {
    if (i > 0) parts.push(COMMA);
    const line = found[i].tcpLine();
    parts.push(line.subarray(0, line.length - 1));
  }
  parts.push(Buffer.from(`],"last_id":"${found[n - 1].idText}"}`));
  return Buffer.concat(parts);
}

/** Headers as head lines (`Name: value\r\n` each); values are ours or an allowed origin (validated by the origin policy). */
export function renderHeadLines(headers: Readonly<Record<string, string>>): string {
  let lines = '';
  for (const [name, value] of Object.entries(headers)) lines += `${name}: ${value}\r\n`;
  return lines;
}

/** What a release pass collected for a poll on `names` after `since`, in id order. */
export function collect(names: readonly string[], since: number, batch: Map<string, Publication[]>): Publication[] {
  const found: Publication[] = [];
  let sources = 0;
  const add = (list: Publication[] | undefined) => {
    if (list === undefined) return;
    const before = found.length;
    for (const p of list) if (p.id > since) found.push(p);
    if (found.length > before) sources++;
  };
  for (const name of names) add(batch.get(name));
  add(batch.get(BROADCAST_CHANNEL));
  if (sources > 1) found.sort((a, b) => a.id - b.id);
  return found;
}
