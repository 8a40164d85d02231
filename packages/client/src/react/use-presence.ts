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
   * Pages are followed (`next_cursor` as `cursor`) to the end.
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
 * and folds its `presence.join` / `presence.leave` / `presence.diff` events over the list read
 * from `membersUrl`. Shares the page's WebSocket with `useChannel`.
 */
export function usePresence(channel: string, options: UsePresenceOptions = {}): UsePresenceResult {
  const { events, state } = useChannel<PresenceMember>(channel, { limit: 1000, ...options });
  const [initial, setInitial] = useState<PresenceMember[]>([]);
  const membersUrl = options.membersUrl;

  useEffect(() => {
    if (membersUrl === undefined) return;
    let live = true;
    void (async () => {
      const all: PresenceMember[] = [];
      let cursor: string | null = null;
      do {
        const url: URL = new URL(membersUrl, globalThis.location?.href);
        if (cursor !== null) url.searchParams.set('cursor', cursor);
        const r = await fetch(url);
        if (!r.ok) break;
        const body = (await r.json()) as { members?: PresenceMember[]; next_cursor?: string | null };
        if (!Array.isArray(body.members)) break;
        all.push(...body.members);
        cursor = typeof body.next_cursor === 'string' ? body.next_cursor : null;
      } while (cursor !== null && live);
      if (live) setInitial(all);
    })().catch(() => undefined);
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
      else if (e.event === 'presence.diff') {
        // A big room's coalesced changes: leaves first, then joins (a re-join is in both). Its lists
        // may be partial (PRESENCE_DIFF_MAX_MEMBERS): the list then shows whom this page was told of.
        const diff = e.data as unknown as { joined: PresenceMember[]; left: PresenceMember[] };
        for (const m of diff.left) byClient.delete(m.client_id);
        for (const m of diff.joined) byClient.set(m.client_id, m);
      }
    }
    return [...byClient.values()].sort((a, b) => a.joined_at.localeCompare(b.joined_at));
  }, [initial, events]);

  return { members, state };
}
