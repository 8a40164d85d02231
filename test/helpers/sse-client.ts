import { EventSource } from 'eventsource';

export interface SseEvent {
  type: string;
  data: string;
  lastEventId: string;
}

/**
 * A WHATWG EventSource (the `eventsource` package) that records every event
 * of the given names. `lastEventId` optionally sends a `Last-Event-ID` header
 * on the first connect, as a reconnecting browser would.
 */
export class TestSse {
  readonly es: EventSource;
  readonly events: SseEvent[] = [];
  opened = false;
  errors = 0;

  constructor(url: string, names: string[] = ['message', 'system'], lastEventId?: string) {
    this.es = new EventSource(url, {
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          headers: {
            ...(init?.headers as Record<string, string>),
            ...(lastEventId && !this.opened ? { 'Last-Event-ID': lastEventId } : {}),
          },
        }),
    });
    this.es.onopen = () => {
      this.opened = true;
    };
    this.es.onerror = () => {
      this.errors++;
    };
    for (const name of names) {
      this.es.addEventListener(name, (e) => {
        const m = e as MessageEvent;
        this.events.push({ type: name, data: m.data, lastEventId: m.lastEventId });
      });
    }
  }

  async next(pred: (e: SseEvent) => boolean, timeoutMs = 5000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no matching SSE event within ${timeoutMs} ms; got ${JSON.stringify(this.events.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async count(n: number, pred: (e: SseEvent) => boolean, timeoutMs = 5000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.events.filter(pred);
      if (got.length >= n) return got;
      if (Date.now() > deadline)
        throw new Error(`expected ${n} events, got ${got.length}: ${JSON.stringify(got.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.es.close();
  }
}

/** Open a raw SSE response with fetch and collect its text (exact framing checks). */
export async function rawSse(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ res: Response; text: () => string; close: () => void }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  let buffer = '';
  if (res.body) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
        }
      } catch {
        // aborted by close(): the collected text stays available
      }
    })();
  }
  return { res, text: () => buffer, close: () => controller.abort() };
}
