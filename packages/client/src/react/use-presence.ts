import { useEffect, useMemo, useState } from 'react';
import type { ConnectionState } from '../types.js';
import { useChannel, type UseChannelOptions } from './use-channel.js';

/** One connection in a channel with presence (`PRESENCE_CHANNELS`). */
export interface PresenceMember {
  client_id: string;
  user_id: string | null;
  node: string;
  joined_at: string;
}

export interface UsePresenceOptions extends UseChannelOptions {
  /**
   * Where to read who was there before this component mounted:
   * `GET /realtime/channels/:channel/presence`, a server API route (loopback or
   * `API_KEY`), so usually a route of your own app that relays it. Without it
   * (or when it is refused) the list starts with the joins seen since mount.
   */
  membersUrl?: string;
}

export interface UsePresenceResult {
  /** Connections in the channel, oldest join first (this page's own included). */
  members: PresenceMember[];
  state: ConnectionState;
}

/**
 * Who is in a channel: joins the channel (so this page counts as a member)
 * and folds its `presence.join` / `presence.leave` events over the list read
 * from `membersUrl`. Shares the page's WebSocket with `useChannel`.
 */
export function usePresence(channel: string, options: UsePresenceOptions = {}): UsePresenceResult {
  const { events, state } = useChannel<PresenceMember>(channel, { limit: 1000, ...options });
  const [initial, setInitial] = useState<PresenceMember[]>([]);
  const membersUrl = options.membersUrl;

  useEffect(() => {
    if (membersUrl === undefined) return;
    let live = true;
    fetch(membersUrl)
      .then((r) => (r.ok ? (r.json() as Promise<{ members?: PresenceMember[] }>) : { members: [] }))
      .then((body) => {
        if (live && Array.isArray(body.members)) setInitial(body.members);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [membersUrl]);

  const members = useMemo(() => {
    // Joins and leaves are idempotent on the map, so events that overlap the fetched list fold cleanly.
    const byClient = new Map<string, PresenceMember>();
    for (const m of initial) byClient.set(m.client_id, m);
    for (const e of events) {
      if (e.event === 'presence.join') byClient.set(e.data.client_id, e.data);
      else if (e.event === 'presence.leave') byClient.delete(e.data.client_id);
    }
    return [...byClient.values()].sort((a, b) => a.joined_at.localeCompare(b.joined_at));
  }, [initial, events]);

  return { members, state };
}
