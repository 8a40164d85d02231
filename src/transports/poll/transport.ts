import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '../../codes.js';
import type { Hub, ReadResult } from '../../hub/hub.js';
import type { Publication } from '../../hub/publication.js';
import { BROADCAST_CHANNEL, userChannel } from '../../hub/channel-name.js';
import { parseEventId } from '../../hub/ids.js';
import type { Authenticator } from '../../auth/tokens.js';
import { joinDenied } from '../../auth/permissions.js';
import type { OriginPolicy } from '../http/cors.js';
import { sendError } from '../http/reject.js';
import type { ConnectionGate } from '../connection-gate.js';
import { admit, unadmit } from '../admission.js';
import type { HandlerGuard } from '../guard.js';
import { parseChannels } from '../sse/transport.js';
import { TimerWheel, type WheelEntry } from './wheel.js';
import { handlePollPublish } from './publish.js';
import type { AppChannels } from '../../hub/app-channels.js';
import { renderWholeAnswer, wholeAnswerKeepAlive, writeWholeAnswer, type WholeAnswer } from './whole-answer.js';

export const POLL_PATH = '/realtime/poll';

export interface PollTransportOptions {
  enabled: boolean;
  /** Events in one answer at most; the client continues from its `last_id`. */
  maxEvents: number;
  channelsPerConnection: number;
  /** `POST /realtime/poll` (a client's channel message): applications' channels, and the body limit. */
  appChannels?: AppChannels;
  maxPublishBytes: number;
}

/** `timeout` bounds and default, in seconds. */
export const POLL_MAX_TIMEOUT_S = 30;
export const POLL_DEFAULT_TIMEOUT_S = 25;
/** Timeout resolution: a held poll is answered up to this much after its timeout. */
const TICK_MS = 100;
/** Bytes of events in one answer at most (one event always fits, whatever its size). */
const MAX_ANSWER_BYTES = 1 << 20;
const TIMEOUT_PATTERN = /^\d{1,2}(\.\d{1,3})?$/;

const kWaiter = Symbol('hubcast.pollWaiter');
type TaggedResponse = ServerResponse & { [kWaiter]?: Waiter };

/**
 * One poll request. Held ones are listed under each channel they read (and
 * `*`), released by the publications the hub reports on those channels, and
 * expired by the transport's one timer wheel.
 *
 * `since` advances while it waits: after a read that found nothing up to the
 * hub's position, every later publication on its channels reaches the
 * transport's tap, so a release answers from what the tap collected without
 * reading history again.
 */
class Waiter implements WheelEntry {
  wheelTick = -1;
  /** A read from durable history is under way (cluster); a release meanwhile reads again after it. */
  reading = false;
  again = false;
  /** Its timeout passed while a read was under way: answer whatever the read finds. */
  expired = false;
  done = false;
  /** Listed under its channels and in the wheel. */
  held = false;
  constructor(
    readonly owner: PollTransport,
    readonly req: IncomingMessage,
    readonly res: TaggedResponse,
    /** Channels read, the user's own included; broadcasts (`*`) come on top. */
    readonly names: string[],
    /** The names, for sharing one answer between waiters that would get the same. */
    readonly key: string,
    public since: number,
    readonly timeoutMs: number,
    readonly headers: Readonly<Record<string, string>>,
    /** The same headers rendered (`Name: value\r\n` each), for the whole-answer path. */
    readonly headLines: string,
  ) {}
}

/**
 * Long polling, `GET /realtime/poll` (docs/protocol.md, "Long polling"): the
 * same hub, history, auth, origin policy and connection slots as SSE. An
 * answer lists each event as the WebSocket event object, framed once per
 * publication (the TCP line without its newline) and shared by every answer
 * that carries it.
 */
export class PollTransport {
  /** Answers sent, and polls refused 401. */
  answers = 0;
  authFailures = 0;
  /** How long the last release took (ms): from the first publication tapped to the last answer written. */
  lastReleaseMs = 0;
  /** When the tap scheduled the pending release pass (performance.now()). */
  private tappedAt = 0;
  /** Held waiters by channel name (`*` for broadcasts). */
  private readonly waiting = new Map<string, Set<Waiter>>();
  /** Publications the tap saw since the last release pass, by channel (only channels someone waits on). */
  private batch = new Map<string, Publication[]>();
  private releaseScheduled = false;
  private readonly wheel = new TimerWheel<Waiter>(TICK_MS, (w) => this.expire(w));
  private heldCount = 0;

  constructor(
    private readonly hub: Hub,
    private readonly options: PollTransportOptions,
    private readonly auth: Authenticator,
    private readonly origins: OriginPolicy,
    private readonly gate: ConnectionGate,
    readonly guard: HandlerGuard,
  ) {
    if (options.enabled) hub.setPublicationTap((p) => this.tapped(p));
  }

  /** Polls being held now. */
  get held(): number {
    return this.heldCount;
  }

  /**
   * GET /realtime/poll (called inside the guard). While held, the request's
   * socket holds a connection slot; the answer gives it back.
   */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const origin = req.headers.origin;
    const cors = this.corsHeaders(origin);
    if (!this.options.enabled) return sendError(res, 404, ErrorCode.transportDisabled, 'long polling is disabled', cors);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Authorization, Content-Type', 'Access-Control-Max-Age': '600' });
      return void res.end();
    }
    if (req.method !== 'GET' && req.method !== 'POST') return sendError(res, 405, ErrorCode.badRequest, `use GET or POST for ${POLL_PATH}`, { ...cors, Allow: 'GET, POST' });
    if (!this.origins.allows(origin)) return sendError(res, 403, ErrorCode.forbidden, `origin ${origin} is not allowed`);
    if (req.method === 'POST') {
      const ctx = { hub: this.hub, auth: this.auth, appChannels: this.options.appChannels ?? null, maxBytes: this.options.maxPublishBytes };
      return handlePollPublish(ctx, req, res, url, cors);
    }

    const channels = parseChannels(url.searchParams.get('channels'));
    if (typeof channels === 'string') return sendError(res, 400, ErrorCode.invalidChannel, channels, cors);
    if (channels.length > this.options.channelsPerConnection) {
      return sendError(res, 400, ErrorCode.tooManyChannels, `at most ${this.options.channelsPerConnection} channels per request`, cors);
    }
    const rawSince = url.searchParams.get('since');
    let since: number | null = null;
    if (rawSince !== null && rawSince.trim() !== '') {
      since = parseEventId(rawSince.trim());
      if (since === null) return sendError(res, 400, ErrorCode.badRequest, `since ${JSON.stringify(rawSince).slice(0, 60)} is not an event id`, cors);
    }
    const rawTimeout = url.searchParams.get('timeout');
    let timeoutS = POLL_DEFAULT_TIMEOUT_S;
    if (rawTimeout !== null && rawTimeout.trim() !== '') {
      const t = rawTimeout.trim();
      timeoutS = TIMEOUT_PATTERN.test(t) ? Number(t) : NaN;
      if (!(timeoutS <= POLL_MAX_TIMEOUT_S)) {
        return sendError(res, 400, ErrorCode.badRequest, `timeout ${JSON.stringify(rawTimeout).slice(0, 40)}: expected seconds from 0 to ${POLL_MAX_TIMEOUT_S}`, cors);
      }
    }
    const admission = await admit(this.gate, this.auth, req, url);
    if (admission.refused) {
      if (admission.status === 401) this.authFailures++;
      return sendError(res, admission.status, admission.code, admission.message, admission.retryLater ? { ...cors, 'Retry-After': '5' } : cors);
    }
    const { identity } = admission;
    for (const channel of channels) {
      const denied = joinDenied(identity, channel);
      if (denied !== null) {
        unadmit(this.gate, req);
        return sendError(res, 403, ErrorCode.forbidden, denied, cors);
      }
    }
    // Gone while authentication ran: its close gave the slot back.
    if (req.socket.destroyed) return;
    const names = identity.userId !== null ? [...channels, userChannel(identity.userId)] : channels;
    // Shared unless CORS adds to them: a held poll keeps its headers until it is answered.
    const plain = Object.keys(cors).length === 0;
    const headers = plain ? ANSWER_HEADERS : { ...ANSWER_HEADERS, ...cors };
    const headLines = plain ? ANSWER_HEAD_LINES : renderHeadLines(headers);
    const w = new Waiter(this, req, res as TaggedResponse, names, names.join(','), since ?? this.hub.position, Math.round(timeoutS * 1000), headers, headLines);
    w.res[kWaiter] = w;
    res.once('close', onResponseClose);
    if (w.timeoutMs > 0) this.hold(w);
    // Without `since`, only what comes after the request: nothing to read yet.
    if (since === null) {
      if (w.timeoutMs === 0) this.answerEmpty(w);
      return;
    }
    this.attempt(w);
  }

  /** Read history after `w.since`: answer with what is there, or keep it held. */
  private attempt(w: Waiter): void {
    const position = this.hub.position;
    const read = this.hub.eventsSince(w.names, w.since, true);
    if (!(read instanceof Promise)) return this.settle(w, read, position);
    w.reading = true;
    read.then(
      (r) => {
        w.reading = false;
        this.settle(w, r, position);
      },
      (err: unknown) => {
        w.reading = false;
        this.failed(w, err);
      },
    );
  }

  private settle(w: Waiter, r: ReadResult, position: number): void {
    if (w.done) return;
    try {
      if (r.failed.length > 0) return this.answerRecoveryFailed(w, r.failed);
      if (r.publications.length > 0) return this.answerEvents(w, r.publications, null);
      if (w.since < position) w.since = position;
      if (w.expired || w.timeoutMs === 0) return this.answerEmpty(w);
      if (w.again) {
        w.again = false;
        this.attempt(w);
      }
    } catch (err) {
      this.failed(w, err);
    }
  }

  private failed(w: Waiter, err: unknown): void {
    this.finish(w);
    this.guard.response('poll request', err, w.res, w.req);
  }

  private hold(w: Waiter): void {
    w.held = true;
    for (const name of w.names) this.listOf(name).add(w);
    this.listOf(BROADCAST_CHANNEL).add(w);
    this.wheel.add(w, w.timeoutMs);
    this.heldCount++;
  }

  private listOf(name: string): Set<Waiter> {
    let set = this.waiting.get(name);
    if (set === undefined) {
      set = new Set();
      this.waiting.set(name, set);
    }
    return set;
  }

  /** The hub kept a publication: collect it for the waiters on its channel, released on the next turn. */
  private tapped(p: Publication): void {
    if (!this.waiting.has(p.channel)) return;
    let list = this.batch.get(p.channel);
    if (list === undefined) {
      list = [];
      this.batch.set(p.channel, list);
    }
    list.push(p);
    if (!this.releaseScheduled) {
      this.releaseScheduled = true;
      this.tappedAt = performance.now();
      setImmediate(this.releaseBound);
    }
  }

  /**
   * Answer every held waiter on a channel that got publications this turn.
   * Waiters on the same channels with the same events share one answer, head
   * and body rendered once (see whole-answer.ts).
   */
  private readonly releaseBound = (): void => {
    this.releaseScheduled = false;
    const batch = this.batch;
    this.batch = new Map();
    const shared: Shared = { bodies: new Map(), wholes: new Map(), answered: [] };
    for (const name of batch.keys()) {
      const set = this.waiting.get(name);
      if (set === undefined) continue;
      for (const w of set) {
        if (w.done) continue;
        if (w.reading) {
          w.again = true;
          continue;
        }
        try {
          const found = collect(w, batch);
          if (found.length > 0) this.answerEvents(w, found, shared);
        } catch (err) {
          this.failed(w, err);
        }
      }
    }
    this.lastReleaseMs = performance.now() - this.tappedAt;
    // Every answer is on its way: now the bookkeeping, which no client waits for.
    for (const w of shared.answered) {
      this.cleanup(w);
      if (w.res.headersSent && !w.res.writableEnded) w.res.end();
    }
  };

  /** Its timeout passed: answer what the tap collected for it this turn, else nothing. */
  private expire(w: Waiter): void {
    if (w.done) return;
    if (w.reading) {
      w.expired = true;
      return;
    }
    try {
      const found = collect(w, this.batch);
      if (found.length > 0) this.answerEvents(w, found, null);
      else this.answerEmpty(w);
    } catch (err) {
      this.failed(w, err);
    }
  }

  private answerEvents(w: Waiter, found: Publication[], shared: Shared | null): void {
    let n = 0;
    let bytes = 0;
    while (n < found.length && n < this.options.maxEvents && (n === 0 || bytes + found[n].tcpLine().length <= MAX_ANSWER_BYTES)) {
      bytes += found[n].tcpLine().length;
      n++;
    }
    const key = shared === null ? '' : `${w.key}|${found[0].idText}|${n}`;
    let body = shared?.bodies.get(key);
    if (body === undefined) {
      const parts: Buffer[] = [EVENTS_OPEN];
      for (let i = 0; i < n; i++) {
        if (i > 0) parts.push(COMMA);
        const line = found[i].tcpLine();
        parts.push(line.subarray(0, line.length - 1));
      }
      parts.push(Buffer.from(`],"last_id":"${found[n - 1].idText}"}`));
      body = Buffer.concat(parts);
      shared?.bodies.set(key, body);
    }
    this.answer(w, body, shared, key);
  }

  private answerEmpty(w: Waiter): void {
    this.answer(w, Buffer.from(`{"events":[],"last_id":"${Math.max(w.since, this.hub.position)}"}`));
  }

  /**
   * History no longer reaches `since` on some channels: the client reloads
   * their state and continues from `last_id` (what it missed is gone).
   */
  private answerRecoveryFailed(w: Waiter, failed: string[]): void {
    const lastId = String(Math.max(w.since, this.hub.position));
    this.answer(w, Buffer.from(JSON.stringify({ events: [], last_id: lastId, recovery_failed: true, channels: failed })));
  }

  /** `key` names `body` in `shared`: polls with the same key, headers and keep-alive get the same bytes. */
  private answer(w: Waiter, body: Buffer, shared: Shared | null = null, key = ''): void {
    if (w.done) return;
    w.done = true;
    if (shared !== null) shared.answered.push(w);
    else this.cleanup(w);
    this.answers++;
    const res = w.res;
    if (res.writableEnded || res.destroyed) return;
    const keepAliveS = wholeAnswerKeepAlive(res);
    if (keepAliveS < 0) {
      res.writeHead(200, { ...w.headers, 'Content-Length': String(body.length) });
      res.end(body);
      return;
    }
    let whole: WholeAnswer | undefined;
    if (shared === null) whole = renderWholeAnswer(body, w.headLines, keepAliveS);
    else {
      const wholeKey = `${key}\n${keepAliveS}\n${w.headLines}`;
      whole = shared.wholes.get(wholeKey);
      if (whole === undefined) {
        whole = renderWholeAnswer(body, w.headLines, keepAliveS);
        shared.wholes.set(wholeKey, whole);
      }
    }
    writeWholeAnswer(res, whole);
    // In a release pass, ended after every answer is written.
    if (shared === null) res.end();
  }

  /** Out of every list, its slot given back. */
  private finish(w: Waiter): void {
    if (w.done) return;
    w.done = true;
    this.cleanup(w);
  }

  private cleanup(w: Waiter): void {
    w.res[kWaiter] = undefined;
    w.res.removeListener('close', onResponseClose);
    if (w.held) {
      w.held = false;
      this.wheel.remove(w);
      for (const name of w.names) this.unlist(name, w);
      this.unlist(BROADCAST_CHANNEL, w);
      this.heldCount--;
    }
    unadmit(this.gate, w.req);
  }

  private unlist(name: string, w: Waiter): void {
    const set = this.waiting.get(name);
    if (set === undefined) return;
    set.delete(w);
    if (set.size === 0) {
      this.waiting.delete(name);
      this.batch.delete(name);
    }
  }

  /** The client went away before its answer. */
  gone(w: Waiter): void {
    this.finish(w);
  }

  private corsHeaders(origin: string | undefined): Record<string, string> {
    const allow = this.origins.allowOriginHeader(origin);
    if (allow === null) return {};
    return allow === '*' ? { 'Access-Control-Allow-Origin': '*' } : { 'Access-Control-Allow-Origin': allow, Vary: 'Origin' };
  }

  /** Answer every held poll now (shutdown): clients poll again, elsewhere, from their `last_id`. */
  closeAll(): void {
    const all = new Set<Waiter>();
    for (const set of this.waiting.values()) for (const w of set) all.add(w);
    for (const w of all) {
      try {
        this.answerEmpty(w);
      } catch (err) {
        this.failed(w, err);
      }
    }
    this.stop();
  }

  stop(): void {
    this.wheel.stop();
    this.hub.setPublicationTap(null);
  }
}

const ANSWER_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
const ANSWER_HEAD_LINES = renderHeadLines(ANSWER_HEADERS);

/** Answers of one release pass, each rendered once: bodies by waiter key and events, whole answers by body, keep-alive and headers. */
interface Shared {
  bodies: Map<string, Buffer>;
  wholes: Map<string, WholeAnswer>;
  /** Answered in the pass: their bookkeeping (and `res.end()`) waits until every answer is written. */
  answered: Waiter[];
}

/** Header values here are ours or an allowed origin (validated by the origin policy). */
function renderHeadLines(headers: Readonly<Record<string, string>>): string {
  let lines = '';
  for (const [name, value] of Object.entries(headers)) lines += `${name}: ${value}\r\n`;
  return lines;
}
const EVENTS_OPEN = Buffer.from('{"events":[');
const COMMA = Buffer.from(',');

/** What the tap collected for `w` after its `since`, in id order. */
function collect(w: Waiter, batch: Map<string, Publication[]>): Publication[] {
  const found: Publication[] = [];
  let sources = 0;
  const add = (list: Publication[] | undefined) => {
    if (list === undefined) return;
    const before = found.length;
    for (const p of list) if (p.id > w.since) found.push(p);
    if (found.length > before) sources++;
  };
  for (const name of w.names) add(batch.get(name));
  add(batch.get(BROADCAST_CHANNEL));
  if (sources > 1) found.sort((a, b) => a.id - b.id);
  return found;
}

function onResponseClose(this: TaggedResponse): void {
  const w = this[kWaiter];
  if (w !== undefined) w.owner.gone(w);
}
