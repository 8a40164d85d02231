import { SystemType } from '../codes.js';
import { encodeTextFrame } from '../wire/ws-frame.js';
import { formatSseEvent, formatSseMessage } from '../wire/sse-format.js';
import type { Channels } from './channels.js';
import { Transport, type Subscriber } from './subscriber.js';

/**
 * `recovery_failed` told to a connected subscriber (not in answer to a resume):
 * the node could not prove it delivered everything on `channel`, so the client
 * refetches. Same shape as the notice a failed `join_channel` gets, plus why.
 */
function recoveryFailedEvent(channel: string, reason: string): string {
  return `{"type":"event","channel":${JSON.stringify(channel)},"event":"system","id":null,"data":{"type":"${SystemType.recoveryFailed}","reason":${JSON.stringify(reason)}}}`;
}

export function recoveryFailedWsFrame(channel: string, reason: string): Buffer {
  return encodeTextFrame(recoveryFailedEvent(channel, reason));
}

/** The raw TCP form: the WebSocket frame's JSON as one line. */
export function recoveryFailedTcpLine(channel: string, reason: string): Buffer {
  return Buffer.from(`${recoveryFailedEvent(channel, reason)}\n`);
}

/** The SSE form: one event naming every affected channel of the stream. */
export function recoveryFailedSseChunk(channels: string[], reason: string): Buffer {
  return Buffer.from(
    formatSseEvent(null, 'system', JSON.stringify({ type: SystemType.recoveryFailed, channels, reason })),
  );
}

/** The `format=message` form of the same notice. */
export function recoveryFailedSseMessageChunk(channels: string[], reason: string): Buffer {
  return Buffer.from(
    formatSseMessage(null, 'system', 'null', JSON.stringify({ type: SystemType.recoveryFailed, channels, reason })),
  );
}

/**
 * A catch-up could not prove `names` complete: tell their connected
 * subscribers `recovery_failed` (one notice per channel on WS and TCP, one
 * naming them all per SSE stream), after everything already queued for them
 * and before what follows the gap. Subscribers still joining (held) are told
 * through their join's result, which comes before anything else for them.
 * Returns the notices written.
 */
export function tellRecoveryFailed(channels: Channels, names: string[], reason: string): number {
  channels.fanOut.flush();
  let written = 0;
  const sse = new Map<Subscriber, string[]>();
  const collect = (sub: Subscriber, name: string) => {
    const list = sse.get(sub);
    if (list === undefined) sse.set(sub, [name]);
    else list.push(name);
  };
  for (const name of names) {
    const ch = channels.audience(name);
    if (ch === undefined) continue;
    if (ch.ws.size > 0) {
      const frame = recoveryFailedWsFrame(name, reason);
      for (const sub of ch.ws) sub.write(frame);
      written += ch.ws.size;
    }
    if (ch.tcp.size > 0) {
      const line = recoveryFailedTcpLine(name, reason);
      for (const sub of ch.tcp) sub.write(line);
      written += ch.tcp.size;
    }
    for (const sub of ch.sseMessage) collect(sub, name);
    for (const sub of ch.sse) collect(sub, name);
    for (const sub of ch.held) {
      const lost = channels.lostWhileHeld.get(sub);
      if (lost === undefined) channels.lostWhileHeld.set(sub, new Set([name]));
      else lost.add(name);
    }
  }
  for (const [sub, list] of sse) {
    sub.write(
      sub.transport === Transport.sseMessage
        ? recoveryFailedSseMessageChunk(list, reason)
        : recoveryFailedSseChunk(list, reason),
    );
    written++;
  }
  return written;
}
