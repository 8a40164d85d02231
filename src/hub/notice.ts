import { SystemType } from '../codes.js';
import { encodeTextFrame } from '../wire/ws-frame.js';
import { formatSseEvent, formatSseMessage } from '../wire/sse-format.js';

/**
 * `recovery_failed` told to a connected subscriber (not in answer to a resume):
 * the node could not prove it delivered everything on `channel`, so the client
 * refetches. Same shape as the notice a failed `join_channel` gets, plus why.
 */
export function recoveryFailedWsFrame(channel: string, reason: string): Buffer {
  return encodeTextFrame(
    `{"type":"event","channel":${JSON.stringify(channel)},"event":"system","id":null,"data":{"type":"${SystemType.recoveryFailed}","reason":${JSON.stringify(reason)}}}`,
  );
}

/** The SSE form: one event naming every affected channel of the stream. */
export function recoveryFailedSseChunk(channels: string[], reason: string): Buffer {
  return Buffer.from(formatSseEvent(null, 'system', JSON.stringify({ type: SystemType.recoveryFailed, channels, reason })));
}

/** The `format=message` form of the same notice. */
export function recoveryFailedSseMessageChunk(channels: string[], reason: string): Buffer {
  return Buffer.from(formatSseMessage(null, 'system', 'null', JSON.stringify({ type: SystemType.recoveryFailed, channels, reason })));
}
