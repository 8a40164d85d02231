import { z } from 'zod';
import { ErrorCode } from '../../codes.js';
import { HubcastError, describeIssues } from '../../errors.js';
import type { Hub } from '../../hub/hub.js';
import { userChannel } from '../../hub/channel-name.js';
import type { Authenticator } from '../../auth/tokens.js';
import type { Identity } from '../../auth/permissions.js';
import { parseClientFrame } from '../ws/protocol.js';
import { dispatchText, type DispatchContext, type Ref } from '../ws/dispatch.js';
import type { TcpConnection } from './connection.js';
import { resumeReading } from './rate-refusal.js';
import type { TcpTokenLifetime } from './token-lifetime.js';

/** `auth` data. A JWT is compact; 8 KiB is far past any real one. */
const authData = z.object({ token: z.string().min(1).max(8192) });

/** What the handshake calls on the transport that reads the lines (TcpTransport). */
export interface AuthOwner {
  /** Refused `auth` commands and deadlines missed (reported in /realtime/stats). */
  authFailures: number;
  /** Feed bytes read while the token was being verified back through the line splitter. */
  received(conn: TcpConnection, chunk: Buffer): void;
  failed(conn: TcpConnection, kind: 'tcp line', err: unknown): void;
}

/**
 * The auth-first handshake: with auth on, a TCP client has no header to carry
 * its token, so its first line must be the `auth` command (or, with
 * AUTH_ANONYMOUS, any frame, which admits it anonymous). Nothing joins the hub
 * before; reading pauses while the token is verified, and what was already
 * read waits on the connection, in order.
 */
export class AuthCommand {
  constructor(
    private readonly hub: Hub,
    private readonly auth: Authenticator,
    private readonly tokens: TcpTokenLifetime,
    private readonly ctx: DispatchContext<TcpConnection>,
    private readonly owner: AuthOwner,
    private readonly deadlineMs: number,
  ) {}

  /** A new connection with auth on: it has `deadlineMs` to send its `auth` command. */
  startDeadline(conn: TcpConnection): void {
    conn.authTimer = setTimeout(authDeadline, this.deadlineMs, this, conn).unref();
  }

  /** With auth on, the first frame must be `auth`. */
  firstFrame(conn: TcpConnection, text: string): void {
    const parsed = parseClientFrame(text);
    if (!parsed.ok || parsed.frame.type !== 'command' || parsed.frame.command !== 'auth') {
      const anon = this.auth.anonymousIdentity();
      if (anon !== null) {
        // AUTH_ANONYMOUS: a client without a token is anonymous; this frame is its first ordinary one.
        this.admitted(conn, anon);
        return dispatchText(this.ctx, conn, text);
      }
      this.owner.authFailures++;
      return conn.end({
        type: 'error',
        code: ErrorCode.unauthorized,
        message: 'auth is on: the first frame must be {"type":"command","command":"auth","data":{"token":"<jwt>"}}',
      });
    }
    const ref = parsed.frame.ref;
    const data = authData.safeParse(parsed.frame.data);
    if (!data.success) {
      this.owner.authFailures++;
      return conn.end({
        type: 'error',
        code: ErrorCode.unauthorized,
        message: `data.${describeIssues(data.error.issues)}`,
        ...(ref !== undefined ? { ref } : {}),
      });
    }
    conn.verifying = true;
    conn.socket.pause();
    this.auth.verify(data.data.token).then(
      (identity) => this.authenticated(conn, identity, ref),
      (err: unknown) => {
        conn.verifying = false;
        if (!(err instanceof HubcastError)) return this.owner.failed(conn, 'tcp line', err);
        this.owner.authFailures++;
        conn.end({ type: 'error', code: err.code, message: err.message, ...(ref !== undefined ? { ref } : {}) });
      },
    );
  }

  /** Let in with `identity`: into the hub, its user channel joined, its token's expiry watched. */
  private admitted(conn: TcpConnection, identity: Identity): void {
    clearAuthTimer(conn);
    conn.identity = identity;
    conn.authPending = false;
    this.hub.addConnection(conn);
    if (identity.userId !== null) this.hub.join(conn, [userChannel(identity.userId)], null);
    this.tokens.track(conn);
  }

  private authenticated(conn: TcpConnection, identity: Identity, ref: Ref): void {
    conn.verifying = false;
    if (conn.closing || conn.socket.destroyed) return;
    this.admitted(conn, identity);
    // Answered with or without a ref: a human typing the command wants to see it took.
    conn.send({
      type: 'reply',
      ...(ref !== undefined ? { ref } : {}),
      ok: true,
      data: { user_id: identity.userId, exp: identity.exp },
    });
    const waiting = conn.waiting;
    conn.waiting = null;
    if (waiting !== null) for (const chunk of waiting) this.owner.received(conn, chunk);
    resumeReading(conn);
  }

  timedOut(conn: TcpConnection): void {
    conn.authTimer = null;
    if (!conn.authPending || conn.verifying) return;
    this.owner.authFailures++;
    conn.end({
      type: 'error',
      code: ErrorCode.unauthorized,
      message: `no auth command within ${this.deadlineMs} ms: closing`,
    });
  }
}

/** Admitted or closed: the deadline no longer applies. */
export function clearAuthTimer(conn: TcpConnection): void {
  if (conn.authTimer !== null) clearTimeout(conn.authTimer);
  conn.authTimer = null;
}

function authDeadline(handshake: AuthCommand, conn: TcpConnection): void {
  handshake.timedOut(conn);
}
