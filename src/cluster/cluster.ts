import type { Logger } from '../logger.js';
import { EVERY_NODE, type NodeTopic } from '../bus/bus.js';
import type { NodeDirectory } from './directory.js';
import { Gatherer, type Gathered } from './gather.js';

/** What the cluster needs of the bus: messages addressed to one node, or to every other one. */
export interface NodeLink {
  sendToNode(to: string, body: string, topic: NodeTopic): Promise<void>;
  onNodeMessage(handler: (from: string, body: string) => void, topic: NodeTopic): void;
}

/** Alone there is no other node to talk to: nothing is sent, nothing arrives. */
export const NO_OTHER_NODES: NodeLink = {
  sendToNode: async () => undefined,
  onNodeMessage: () => undefined,
};

/** Answers one kind of question; what it returns (or resolves) is sent back as JSON. */
export type Answerer = (payload: unknown) => unknown;

/** Default wait for every live node's answer. */
export const ASK_TIMEOUT_MS = 1000;

interface AskMessage {
  t: string;
  q: string;
  p: unknown;
}

interface ReplyMessage {
  t: string;
  v?: unknown;
  e?: string;
}

/**
 * The nodes of the cluster as one: who is alive (a directory) and a question
 * put to every one of them, answers gathered with a deadline. Alone, the
 * directory is this node and the link sends nothing: the same calls answer
 * locally. Questions go out as one bus message to every node (topic `ask`);
 * answers come back to the asker alone (topic `reply`), under the question's
 * token. Other rounds — the cluster-wide delivery count — use `expect` and
 * `replyTo` with tokens of their own.
 */
export class ClusterNodes {
  readonly nodeId: string;
  private readonly answerers = new Map<string, Answerer>();
  private readonly gather = new Gatherer();

  constructor(
    private readonly directory: NodeDirectory,
    private readonly link: NodeLink,
    private readonly log: Logger,
  ) {
    this.nodeId = directory.nodeId;
    link.onNodeMessage((from, body) => this.asked(from, body), 'ask');
    link.onNodeMessage((from, body) => this.replied(from, body), 'reply');
    // A stopping node says so: nobody waits for its answers until its entry would expire.
    link.onNodeMessage((from) => directory.forget(from), 'leave');
  }

  /** The live nodes, this one included. */
  nodes(): string[] {
    return this.directory.live();
  }

  /** Answer `question` with `handler`, here and when another node asks. */
  answer(question: string, handler: Answerer): void {
    this.answerers.set(question, handler);
  }

  /**
   * Ask every live node (this one included) `question`; resolves when all
   * answered or after `timeoutMs`, with whatever came.
   *
   * @example
   * ```ts
   * const { replies, missing } = await cluster.ask<NodeReport>('admin.report', { top: 20 });
   * ```
   */
  async ask<T>(question: string, payload: unknown, timeoutMs = ASK_TIMEOUT_MS): Promise<Gathered<T>> {
    const answerer = this.answerers.get(question);
    if (answerer === undefined) throw new Error(`no answerer registered for ${JSON.stringify(question)}`);
    const { token, done } = this.gather.start<T>(this.directory.live(), timeoutMs);
    const message: AskMessage = { t: token, q: question, p: payload };
    // Not sent: the other nodes stay missing in the answer, which says so.
    this.link
      .sendToNode(EVERY_NODE, JSON.stringify(message), 'ask')
      .catch((err: Error) => this.log.warn({ err: err.message, question }, 'cluster question not sent'));
    this.run(answerer, payload).then(
      (value) => this.gather.reply(token, this.nodeId, value),
      (err: Error) => this.gather.fail(token, this.nodeId, err.message),
    );
    return done;
  }

  /** Open a round for answers to a token the caller sends out itself (see delivery-tally.ts). */
  expect<T>(timeoutMs = ASK_TIMEOUT_MS): { token: string; done: Promise<Gathered<T>>; cancel(): void } {
    return this.gather.start<T>(this.directory.live(), timeoutMs);
  }

  /** Answer `value` to the round `token` of node `to` (this node's own rounds directly). */
  replyTo(to: string, token: string, value: unknown): void {
    if (to === this.nodeId) return this.gather.reply(token, to, value);
    const message: ReplyMessage = { t: token, v: value };
    this.link
      .sendToNode(to, JSON.stringify(message), 'reply')
      .catch((err: Error) => this.log.warn({ err: err.message, to }, 'cluster answer not sent'));
  }

  start(): Promise<void> {
    return this.directory.start();
  }

  isReady(): boolean {
    return this.directory.isReady();
  }

  async close(): Promise<void> {
    this.gather.close();
    await this.link
      .sendToNode(EVERY_NODE, '', 'leave')
      .catch((err: Error) =>
        this.log.warn({ err: err.message }, 'leaving not announced: other nodes drop this one at their next heartbeat'),
      );
    await this.directory.close();
  }

  private async run(answerer: Answerer, payload: unknown): Promise<unknown> {
    return answerer(payload);
  }

  private asked(from: string, body: string): void {
    let m: AskMessage;
    try {
      m = JSON.parse(body) as AskMessage;
    } catch {
      this.log.error({ from }, 'malformed cluster question dropped');
      return;
    }
    if (typeof m?.t !== 'string' || typeof m.q !== 'string') {
      this.log.error({ from }, 'malformed cluster question dropped');
      return;
    }
    const answerer = this.answerers.get(m.q);
    // A node of another version may ask what this one does not know: it hears so at once.
    const answered =
      answerer === undefined
        ? Promise.reject(new Error(`node ${this.nodeId} does not answer ${JSON.stringify(m.q)}`))
        : this.run(answerer, m.p);
    answered.then(
      (value) => this.send(from, { t: m.t, v: value }),
      (err: Error) => this.send(from, { t: m.t, e: err.message }),
    );
  }

  private send(to: string, message: ReplyMessage): void {
    this.link
      .sendToNode(to, JSON.stringify(message), 'reply')
      .catch((err: Error) => this.log.warn({ err: err.message, to }, 'cluster answer not sent'));
  }

  private replied(from: string, body: string): void {
    let m: ReplyMessage;
    try {
      m = JSON.parse(body) as ReplyMessage;
    } catch {
      this.log.error({ from }, 'malformed cluster answer dropped');
      return;
    }
    if (typeof m?.t !== 'string') {
      this.log.error({ from }, 'malformed cluster answer dropped');
      return;
    }
    if (typeof m.e === 'string') this.gather.fail(m.t, from, m.e);
    else this.gather.reply(m.t, from, m.v);
  }
}
