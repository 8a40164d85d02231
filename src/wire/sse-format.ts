/**
 * Server-Sent Events framing (WHATWG HTML §9.2). Multi-line data is split on
 * every line terminator the parser recognises (CRLF, CR, LF) so a client
 * reassembles it with `\n` joins, unchanged for LF text.
 */
const LINE_BREAK = /\r\n|\r|\n/;

export function formatSseEvent(id: string | null, event: string | null, data: string): string {
  let out = '';
  if (id !== null) out += `id: ${id}\n`;
  if (event !== null) out += `event: ${event}\n`;
  const lines = data.split(LINE_BREAK);
  for (let i = 0; i < lines.length; i++) out += `data: ${lines[i]}\n`;
  return out + '\n';
}

/**
 * `format=message` framing: no `event:` field, so `EventSource.onmessage` sees
 * every event; the name travels in the data. `channelJson` and `dataJson` are
 * JSON text (`null` for a connection's own system events).
 */
export function formatSseMessage(id: string | null, event: string, channelJson: string, dataJson: string): string {
  const head = id !== null ? `id: ${id}\n` : '';
  return `${head}data: {"event":${JSON.stringify(event)},"channel":${channelJson},"data":${dataJson}}\n\n`;
}

export const SSE_HEARTBEAT = Buffer.from(': heartbeat\n\n');

export function formatRetry(ms: number): string {
  return `retry: ${ms}\n\n`;
}
