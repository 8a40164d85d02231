/**
 * Event ids. One counter per process, seeded from the wall clock in
 * microseconds, so ids keep rising across restarts (a process would need to
 * average a million publications per second to catch up with the next boot's
 * seed) and stay below 2^53. Ids are global, not per channel: an SSE client
 * on several channels resumes from the single `Last-Event-ID` it holds.
 *
 * On the wire an id is a decimal string; `parseEventId` is the inverse.
 */
export class EventIdSequence {
  private last: number;
  /** The first id this process hands out: anything older predates this process. */
  readonly floor: number;

  constructor(seed = Date.now() * 1000) {
    this.last = seed;
    this.floor = seed + 1;
  }

  next(): number {
    return ++this.last;
  }

  /** Never hand out an id at or below one seen elsewhere (restored history). */
  advanceTo(id: number): void {
    if (id > this.last) this.last = id;
  }

  get current(): number {
    return this.last;
  }
}

const ID_PATTERN = /^\d{1,16}$/;

/** A client-supplied id (string or number) → number, or null if it is not an event id. */
export function parseEventId(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value === 'string' && ID_PATTERN.test(value)) return Number(value);
  return null;
}
