/** The gateway's realtime endpoints (docs/protocol.md), where the SDK and the server both find them. */
export const WS_PATH = '/realtime/ws';
export const SSE_PATH = '/realtime/events';
export const POLL_PATH = '/realtime/poll';
export const SIGNALING_PATH = '/realtime/webrtc/signaling';
/** The SDK as one browser ES module, served by the gateway. */
export const SDK_PATH = '/sdk/hubcast.js';
