/**
 * React hooks over the hubcast SDK (`@hubcast/client/react`, also `hubcast/react`).
 * React ≥ 18 is a peer dependency. Connections are shared per URL across components, survive
 * StrictMode's double mount without a second connection, close when the last
 * component using them unmounts, and reconnect and resume on their own.
 *
 * @packageDocumentation
 */
export { useSSE, openStreams, type UseSSEOptions, type UseSSEResult } from './use-sse.js';
export { useChannel, openSockets, type UseChannelOptions, type UseChannelResult } from './use-channel.js';
export { usePresence, type PresenceMember, type UsePresenceOptions, type UsePresenceResult } from './use-presence.js';
