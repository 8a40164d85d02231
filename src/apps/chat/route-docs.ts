import type { RouteDoc } from '../../application.js';

const JSON_OK = { status: 200, type: 'application/json', description: 'OK' };

/** Chat's routes on `/openapi.json`. */
export const CHAT_ROUTES: Record<string, RouteDoc> = {
  'GET /chat': { summary: 'Chat page', tag: 'pages', ok: { status: 200, type: 'text/html', description: 'HTML page' } },
  'GET /api/chat/rooms': { summary: 'Chat rooms', tag: 'chat', ok: JSON_OK, errors: [401] },
  'GET /api/chat/rooms/:room/messages': {
    summary: 'Messages of a room, newest first',
    tag: 'chat',
    query: [
      { name: 'limit', description: 'At most this many messages', type: 'integer' },
      { name: 'before', description: 'Messages before this id' },
    ],
    ok: JSON_OK,
    errors: [400, 401, 403, 404],
  },
  'POST /api/chat/rooms/:room/messages': {
    summary: 'Post a message to a room',
    tag: 'chat',
    ok: { status: 201, type: 'application/json', description: 'Created' },
    errors: [400, 401, 403, 404, 429],
  },
  'GET /api/chat/rooms/:room/members': {
    summary: 'Members present in a room: the whole count, the members a page at a time',
    tag: 'chat',
    query: [
      { name: 'cursor', description: 'next_cursor of the previous page; omitted: the first page' },
      { name: 'limit', description: 'Members per page, 0–1000; default 100', type: 'integer' },
    ],
    ok: JSON_OK,
    errors: [400, 401, 403, 404],
  },
};
