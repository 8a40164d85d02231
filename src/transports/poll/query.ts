import { ErrorCode } from '../../codes.js';
import { parseEventId } from '../../hub/ids.js';
import { parseChannels } from '../sse/transport.js';

/** `timeout` bounds and default, in seconds. */
export const POLL_MAX_TIMEOUT_S = 30;
export const POLL_DEFAULT_TIMEOUT_S = 25;
const TIMEOUT_PATTERN = /^\d{1,2}(\.\d{1,3})?$/;

/** A poll's query string, checked: what to read, from where, and for how long to hold. */
export interface PollQuery {
  channels: string[];
  /** `null`: only what comes after the request. */
  since: number | null;
  timeoutMs: number;
}

export interface PollQueryError {
  code: ErrorCode;
  message: string;
}

/** `channels`, `since` and `timeout` of a `GET /realtime/poll` (docs/protocol.md, "Long polling"); every refusal is a 400. */
export function parsePollQuery(
  params: URLSearchParams,
  channelsPerConnection: number,
  defaults: readonly string[],
): PollQuery | PollQueryError {
  const channels = parseChannels(params.get('channels'), defaults);
  if (typeof channels === 'string') return { code: ErrorCode.invalidChannel, message: channels };
  if (channels.length > channelsPerConnection)
    return { code: ErrorCode.tooManyChannels, message: `at most ${channelsPerConnection} channels per request` };
  const rawSince = params.get('since');
  let since: number | null = null;
  if (rawSince !== null && rawSince.trim() !== '') {
    since = parseEventId(rawSince.trim());
    if (since === null)
      return {
        code: ErrorCode.badRequest,
        message: `since ${JSON.stringify(rawSince).slice(0, 60)} is not an event id`,
      };
  }
  const rawTimeout = params.get('timeout');
  let timeoutS = POLL_DEFAULT_TIMEOUT_S;
  if (rawTimeout !== null && rawTimeout.trim() !== '') {
    const t = rawTimeout.trim();
    timeoutS = TIMEOUT_PATTERN.test(t) ? Number(t) : NaN;
    if (!(timeoutS <= POLL_MAX_TIMEOUT_S)) {
      return {
        code: ErrorCode.badRequest,
        message: `timeout ${JSON.stringify(rawTimeout).slice(0, 40)}: expected seconds from 0 to ${POLL_MAX_TIMEOUT_S}`,
      };
    }
  }
  return { channels, since, timeoutMs: Math.round(timeoutS * 1000) };
}
