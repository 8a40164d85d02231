import type { Publication } from '../../hub/publication.js';
import { collect } from './answer-body.js';
import type { Waiter } from './waiter.js';
import type { WholeAnswer } from './whole-answer.js';

/**
 * The polls one release pass answers, grouped so that work is done once per
 * group, not per poll: polls on the same channels from the same `since` get
 * the same events, hence one collect, one body and one whole answer per
 * distinct head lines (whole-answer.ts).
 */

/** One release pass: its groups, and the polls it answered. */
export interface Shared {
  /** By the polls' channels (`Waiter.key`), then `since`: no key is built per poll. */
  groups: Map<string, Map<number, Group>>;
  /** Answered in the pass: their bookkeeping (and `res.end()`) waits until every answer is written. */
  answered: Waiter[];
}

/** Polls of a pass on the same channels from the same `since`: one collect, one body, one whole answer per head lines. */
export interface Group {
  found: Publication[];
  body: Buffer | null;
  wholes: Map<string, WholeAnswer>;
}

export function groupOf(shared: Shared, w: Waiter, batch: Map<string, Publication[]>): Group {
  let bySince = shared.groups.get(w.key);
  if (bySince === undefined) {
    bySince = new Map();
    shared.groups.set(w.key, bySince);
  }
  let group = bySince.get(w.since);
  if (group === undefined) {
    group = { found: collect(w.names, w.since, batch), body: null, wholes: new Map() };
    bySince.set(w.since, group);
  }
  return group;
}
