"""Errors the client raises.

Every error is a :class:`HubcastError` with a ``code``: either a server code
(from an ``{"type": "error"}`` frame or an HTTP error body, see
docs/protocol.md, "Errors") or one of the client's own codes
(:data:`CLIENT_ERRORS`), which never travel on the wire. Each server code has
its own subclass, so ``except PeerNotFoundError`` and ``err.code ==
"peer_not_found"`` both work.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type, Union

Ref = Union[str, int]


class HubcastError(Exception):
    """Base of every error the client raises; ``code`` says which."""

    code: str = "error"

    def __init__(self, message: str, *, code: Optional[str] = None, ref: Optional[Ref] = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        #: The ``ref`` of the command an error frame answered.
        self.ref = ref

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# ---- server codes ----------------------------------------------------------


class ServerError(HubcastError):
    """The gateway refused something: an ``error`` frame, or an HTTP error answer.

    ``status`` is the HTTP status for HTTP answers (and refused upgrades), else ``None``.
    """

    code = "server_error"

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        ref: Optional[Ref] = None,
        status: Optional[int] = None,
    ) -> None:
        super().__init__(message, code=code, ref=ref)
        self.status = status


class BadRequestError(ServerError):
    code = "bad_request"


class InvalidJsonError(ServerError):
    code = "invalid_json"


class InvalidFrameError(ServerError):
    code = "invalid_frame"


class UnknownTypeError(ServerError):
    code = "unknown_type"


class UnknownCommandError(ServerError):
    code = "unknown_command"


class InvalidChannelError(ServerError):
    code = "invalid_channel"


class ForbiddenError(ServerError):
    code = "forbidden"


class OriginNotAllowedError(ServerError):
    code = "origin_not_allowed"


class UnauthorizedError(ServerError):
    code = "unauthorized"


class TokenExpiredError(ServerError):
    code = "token_expired"


class NotFoundError(ServerError):
    code = "not_found"


class NotSubscribedError(ServerError):
    code = "not_subscribed"


class PeerNotFoundError(ServerError):
    code = "peer_not_found"


class PeerIdTakenError(ServerError):
    code = "peer_id_taken"


class TooManyConnectionsError(ServerError):
    code = "too_many_connections"


class TooManyChannelsError(ServerError):
    code = "too_many_channels"


class RateLimitedError(ServerError):
    code = "rate_limited"


class PayloadTooLargeError(ServerError):
    code = "payload_too_large"


class UnsupportedMediaTypeError(ServerError):
    code = "unsupported_media_type"


class TransportDisabledError(ServerError):
    code = "transport_disabled"


class NotReadyError(ServerError):
    code = "not_ready"


class PresenceDisabledError(ServerError):
    code = "presence_disabled"


class InternalServerError(ServerError):
    code = "internal_error"


class InvalidMessageError(ServerError):
    """A chat post that is empty, too long or malformed: nothing was stored."""

    code = "invalid_message"


class UnavailableError(ServerError):
    """A dependency the request needs is down: retry later."""

    code = "unavailable"


class IdempotencyKeyInUseError(ServerError):
    """A request with this Idempotency-Key is still running: retry later."""

    code = "idempotency_key_in_use"


class IdempotencyKeyReusedError(ServerError):
    """This Idempotency-Key came with a different request body: use a new key."""

    code = "idempotency_key_reused"


#: Server code → exception class, one per ``ErrorCode`` in packages/client/src/wire/codes.ts.
SERVER_ERRORS: Dict[str, Type[ServerError]] = {
    cls.code: cls
    for cls in (
        BadRequestError,
        InvalidJsonError,
        InvalidFrameError,
        UnknownTypeError,
        UnknownCommandError,
        InvalidChannelError,
        ForbiddenError,
        OriginNotAllowedError,
        UnauthorizedError,
        TokenExpiredError,
        NotFoundError,
        NotSubscribedError,
        PeerNotFoundError,
        PeerIdTakenError,
        TooManyConnectionsError,
        TooManyChannelsError,
        RateLimitedError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        TransportDisabledError,
        NotReadyError,
        PresenceDisabledError,
        InternalServerError,
        InvalidMessageError,
        UnavailableError,
        IdempotencyKeyInUseError,
        IdempotencyKeyReusedError,
    )
}


def server_error(
    code: Any, message: Any, *, ref: Optional[Ref] = None, status: Optional[int] = None
) -> ServerError:
    """The exception for a server ``code``; a code this client does not know yet gives a plain ServerError."""
    code_s = str(code) if code is not None else "server_error"
    cls = SERVER_ERRORS.get(code_s, ServerError)
    return cls(str(message), code=code_s, ref=ref, status=status)


# ---- client codes ----------------------------------------------------------


class ClientError(HubcastError):
    """A failure on the client side; its code never travels on the wire."""

    code = "client_error"


class NotConnectedError(ClientError):
    """The client is disconnected: call ``connect()`` first."""

    code = "not_connected"


class QueueFullError(ClientError):
    """The queue of sends made while reconnecting is full (``max_queued_messages``)."""

    code = "queue_full"


class RequestTimeoutError(ClientError):
    """No reply (or HTTP answer) in time."""

    code = "timeout"


class ConnectionLostError(ClientError):
    """The connection dropped after a command was sent and before its reply:
    the server may or may not have acted on it."""

    code = "connection_lost"


class ClosedError(ClientError):
    """``disconnect()``/``close()`` was called, or the client gave up reconnecting."""

    code = "closed"


class CancelledError(ClientError):
    """``leave_channel`` was called while the join was still pending."""

    code = "cancelled"


class InvalidBinaryError(ClientError):
    """A binary message that does not follow the layout (4-byte length, JSON header, bytes)."""

    code = "invalid_binary"


class ConnectionFailedError(ClientError):
    """An HTTP request of the server API client could not reach the gateway."""

    code = "connection_failed"


#: Client code → exception class.
CLIENT_ERRORS: Dict[str, Type[ClientError]] = {
    cls.code: cls
    for cls in (
        NotConnectedError,
        QueueFullError,
        RequestTimeoutError,
        ConnectionLostError,
        ClosedError,
        CancelledError,
        InvalidBinaryError,
        ConnectionFailedError,
    )
}
