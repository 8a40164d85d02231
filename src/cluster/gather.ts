import { randomBytes } from 'node:crypto';

/** What a round of answers came to when every expected node answered, or at its deadline. */
export interface Gathered<T> {
  /** The nodes asked (live when asked) and any other that answered. */
  nodes: string[];
  /** Answers by node. */
  replies: Map<string, T>;
  /** Nodes that answered with an error instead (their message). */
  errors: Map<string, string>;
  /** Nodes asked that did not answer in time. */
  missing: string[];
}

interface Round {
  expected: Set<string>;
  replies: Map<string, unknown>;
  errors: Map<string, string>;
  resolve(g: Gathered<unknown>): void;
  timer: NodeJS.Timeout;
}

/**
 * Rounds of answers, each under a token that travels with the question: a
 * round ends when every node it expects has answered, or at its deadline,
 * whichever comes first. An answer to a round that ended is dropped.
 */
export class Gatherer {
  /** Tokens stay unique across restarts of a node under the same NODE_ID. */
  private readonly prefix = randomBytes(4).toString('hex');
  private next = 0;
  private readonly rounds = new Map<string, Round>();

  start<T>(
    expected: readonly string[],
    timeoutMs: number,
  ): { token: string; done: Promise<Gathered<T>>; cancel(): void } {
    const token = `${this.prefix}.${(this.next++).toString(36)}`;
    let resolve!: (g: Gathered<unknown>) => void;
    const done = new Promise<Gathered<unknown>>((r) => (resolve = r));
    const timer = setTimeout(() => this.end(token), timeoutMs);
    timer.unref();
    this.rounds.set(token, { expected: new Set(expected), replies: new Map(), errors: new Map(), resolve, timer });
    return { token, done: done as Promise<Gathered<T>>, cancel: () => this.end(token) };
  }

  reply(token: string, node: string, value: unknown): void {
    const round = this.rounds.get(token);
    if (round === undefined) return;
    round.replies.set(node, value);
    this.endIfComplete(token, round);
  }

  fail(token: string, node: string, message: string): void {
    const round = this.rounds.get(token);
    if (round === undefined) return;
    round.errors.set(node, message);
    this.endIfComplete(token, round);
  }

  /** End every open round now (shutdown): each resolves with what it has. */
  close(): void {
    for (const token of [...this.rounds.keys()]) this.end(token);
  }

  private endIfComplete(token: string, round: Round): void {
    for (const node of round.expected) if (!round.replies.has(node) && !round.errors.has(node)) return;
    this.end(token);
  }

  private end(token: string): void {
    const round = this.rounds.get(token);
    if (round === undefined) return;
    this.rounds.delete(token);
    clearTimeout(round.timer);
    const nodes = new Set(round.expected);
    for (const node of round.replies.keys()) nodes.add(node);
    for (const node of round.errors.keys()) nodes.add(node);
    const missing = [...round.expected].filter((n) => !round.replies.has(n) && !round.errors.has(n));
    round.resolve({ nodes: [...nodes], replies: round.replies, errors: round.errors, missing });
  }
}
