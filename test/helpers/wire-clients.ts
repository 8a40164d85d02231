/**
 * Clients without the SDK, for checking what goes on the wire: a plain `ws` client and a plain
 * SSE reader that drop their connection every `periodMs` and resume on the next node (WS `since`,
 * SSE `Last-Event-ID`), as a flaky network would make them. Neither drops repeats: every id they
 * receive is checked to rise. A `VersionTracker` per client checks per product that each version
 * follows the last, or that a `recovery_failed` came before the gap.
 */
import WebSocket from 'ws';

/** What a product looks like in `product.updated` (only what the checks read). */
export interface ProductState {
  id: number;
  version: number;
}

/**
 * One client's view of the catalog: per product, versions must rise by one; a jump is allowed
 * only after a `recovery_failed` (told, then the client refetches), never silently.
 */
export class VersionTracker {
  readonly last = new Map<number, number>();
  /** Versions a refetch after `recovery_failed` returned (the state the client now shows). */
  readonly refetched = new Map<number, number>();
  /** `recovery_failed` notices so far, and how many there were at each product's last event. */
  notices = 0;
  private readonly noticesAt = new Map<number, number>();
  deliveries = 0;
  silentGaps = 0;
  toldGaps = 0;
  repeats = 0;
  /** Ids that were not above the previous one (plain clients only; the SDK drops repeats). */
  idRepeats = 0;
  lastId = 0;
  readonly examples: string[] = [];

  constructor(
    readonly name: string,
    initial: Map<number, number>,
  ) {
    for (const [id, v] of initial) this.last.set(id, v);
  }

  notice(): void {
    this.notices++;
  }

  /** `where`: which connection it came on (for the failure message). */
  id(text: string, where = ''): void {
    const n = Number(text);
    if (n <= this.lastId) {
      this.idRepeats++;
      this.example(`id ${text} after ${this.lastId} ${where}`);
    } else this.lastId = n;
  }

  event(p: ProductState): void {
    this.deliveries++;
    const last = this.last.get(p.id) ?? 0;
    const told = this.notices > (this.noticesAt.get(p.id) ?? 0);
    if (p.version <= last) {
      this.repeats++;
      this.example(`product ${p.id}: version ${p.version} after ${last}`);
      return;
    }
    if (p.version !== last + 1) {
      if (told) this.toldGaps++;
      else {
        this.silentGaps++;
        this.example(`product ${p.id}: version ${p.version} after ${last}, no recovery_failed`);
      }
    }
    this.last.set(p.id, p.version);
    this.noticesAt.set(p.id, this.notices);
  }

  refetch(products: Map<number, number>): void {
    for (const [id, v] of products) this.refetched.set(id, Math.max(v, this.refetched.get(id) ?? 0));
  }

  /** What the client shows for `id`: its last event, or a newer refetched state. */
  shows(id: number): number {
    return Math.max(this.last.get(id) ?? 0, this.refetched.get(id) ?? 0);
  }

  holds(final: Map<number, number>): boolean {
    for (const [id, v] of final) if (this.shows(id) !== v) return false;
    return true;
  }

  private example(text: string): void {
    if (this.examples.length < 5) this.examples.push(`${this.name}: ${text}`);
  }
}

/** Totals over many trackers, for figures and assertions. */
export interface Summary {
  clients: number;
  deliveries: number;
  notices: number;
  told_gaps: number;
  silent_gaps: number;
  repeats: number;
  id_repeats: number;
  examples: string[];
}

export function summarize(trackers: VersionTracker[]): Summary {
  const sum = (f: (t: VersionTracker) => number) => trackers.reduce((n, t) => n + f(t), 0);
  return {
    clients: trackers.length,
    deliveries: sum((t) => t.deliveries),
    notices: sum((t) => t.notices),
    told_gaps: sum((t) => t.toldGaps),
    silent_gaps: sum((t) => t.silentGaps),
    repeats: sum((t) => t.repeats),
    id_repeats: sum((t) => t.idRepeats),
    examples: trackers.flatMap((t) => t.examples).slice(0, 8),
  };
}

interface Resumer {
  readonly tracker: VersionTracker;
  resumes: number;
  stop(): void;
}

/**
 * A plain `ws` client on `channel`: joins with `since` (its last id) on every (re)connect, and
 * moves to the next of `nodeUrls` (http base URLs) every `periodMs`.
 */
export function resumingWs(nodeUrls: string[], channel: string, tracker: VersionTracker, periodMs: number): Resumer {
  let stopped = false;
  let ws: WebSocket | null = null;
  let node = 0;
  let position: string | null = null;
  let timer: NodeJS.Timeout | null = null;
  const self: Resumer = {
    tracker,
    resumes: 0,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      ws?.terminate();
    },
  };
  const connect = () => {
    if (stopped) return;
    const url = `${nodeUrls[node++ % nodeUrls.length].replace(/^http/, 'ws')}/realtime/ws`;
    const sock = (ws = new WebSocket(url));
    const since = position;
    let replied = false;
    sock.on('open', () => {
      const data: Record<string, string> = { channel };
      if (position !== null) data.since = position;
      sock.send(JSON.stringify({ type: 'command', command: 'join_channel', data, ref: 1 }));
    });
    sock.on('message', (raw) => {
      const f = JSON.parse(String(raw));
      if (f.type === 'reply' && f.ref === 1) {
        replied = true;
        if (position === null && typeof f.data?.last_id === 'string') position = f.data.last_id;
      }
      if (f.type !== 'event' || f.channel !== channel) return;
      if (f.event === 'system' && f.data?.type === 'recovery_failed') tracker.notice();
      else if (f.event === 'product.updated') {
        tracker.id(f.id, `(${url} since ${since}, ${replied ? 'live' : 'replay'})`);
        position = f.id;
        tracker.event(f.data as ProductState);
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (timer) clearTimeout(timer);
      if (stopped) return;
      self.resumes++;
      setTimeout(connect, 20);
    });
    timer = setTimeout(() => sock.terminate(), periodMs);
  };
  connect();
  return self;
}

/**
 * A plain SSE reader on `channel` (fetch, no EventSource): sends `Last-Event-ID` — the last
 * `id:` field it saw, the welcome's included, as a browser does — and moves to the next node
 * every `periodMs`.
 */
export function resumingSse(nodeUrls: string[], channel: string, tracker: VersionTracker, periodMs: number): Resumer {
  let stopped = false;
  let node = 0;
  let position: string | null = null;
  let abort: AbortController | null = null;
  let since: string | null = null;
  const self: Resumer = {
    tracker,
    resumes: 0,
    stop() {
      stopped = true;
      abort?.abort();
    },
  };
  const block = (text: string) => {
    let event = 'message';
    let id: string | null = null;
    const data: string[] = [];
    for (const line of text.split('\n')) {
      if (line.startsWith('id:')) id = line.slice(3).trim();
      else if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (id !== null) position = id;
    if (event === 'system') {
      if (JSON.parse(data.join('\n')).type === 'recovery_failed') tracker.notice();
    } else if (event === 'product.updated' && id !== null) {
      tracker.id(id, `(since ${since})`);
      tracker.event(JSON.parse(data.join('\n')) as ProductState);
    }
  };
  const run = async () => {
    while (!stopped) {
      const url = `${nodeUrls[node++ % nodeUrls.length]}/realtime/events?channels=${encodeURIComponent(channel)}`;
      since = position;
      const ctl = (abort = new AbortController());
      const timer = setTimeout(() => ctl.abort(), periodMs);
      try {
        const res = await fetch(url, {
          signal: ctl.signal,
          headers: position === null ? {} : { 'Last-Event-ID': position },
        });
        const reader = res.body!.getReader();
        const decoder = new TextDecoder();
        let buffered = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffered += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = buffered.indexOf('\n\n')) >= 0) {
            block(buffered.slice(0, end));
            buffered = buffered.slice(end + 2);
          }
        }
      } catch {
        // aborted (the period is over) or the node is down: resume on the next one
      } finally {
        clearTimeout(timer);
      }
      if (!stopped) {
        self.resumes++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  void run();
  return self;
}
