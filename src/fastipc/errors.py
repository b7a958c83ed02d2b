"""The exceptions fastipc raises.

Every error carries a ``code`` class attribute. Faults caused by a peer (bad
bytes on the wire) are [`IPCProtocolError`][fastipc.IPCProtocolError]; faults
caused by the caller (a wrong config value, a value that cannot be encoded)
are [`IPCConfigError`][fastipc.IPCConfigError] and
[`IPCEncodeError`][fastipc.IPCEncodeError]. The protocol codes are node-ipc
14's, so a Python and a Node process report the same fault by the same name.
"""

from __future__ import annotations

import typing

__all__ = [
    "PROTOCOL_ERRORS",
    "AssuredTLSError",
    "AssuredTransportError",
    "BackpressureError",
    "EventNotAllowedError",
    "EventTooLargeError",
    "FrameTooLargeError",
    "IPCConfigError",
    "IPCEncodeError",
    "IPCError",
    "IPCNotConnectedError",
    "IPCProtocolError",
    "InvalidEventError",
    "InvalidJSONError",
    "InvalidMessageError",
    "MessageTimeoutError",
    "RemoteError",
    "RequestTimeoutError",
    "ReservedEventError",
    "SocketRootError",
    "TLSConfigurationError",
    "UnlinkNotSocketError",
    "protocol_error",
]


class IPCError(Exception):
    """Base class of every exception fastipc raises on purpose.

    Catch it to handle any of them; ``code`` tells them apart. An error
    keeps its class and ``code`` when it is pickled (for example on its way
    back from a ``multiprocessing`` worker).

    Args:
        message: what went wrong; fastipc's messages name the key, the limit
            and the value seen.
        code: a code for this instance instead of the class's own.
    """

    #: The error's code, a class attribute each subclass sets: node-ipc 14's
    #: name for the fault (``'ERR_IPC_INVALID_JSON'``, ...) where node-ipc
    #: has one, else fastipc's own. ``'ERR_IPC'`` here, on the base class.
    code: str = "ERR_IPC"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    def __reduce__(self) -> tuple[object, tuple[type[IPCError], str, str]]:
        # keep the code across pickling (multiprocessing)
        return (_rebuild, (type(self), str(self), self.code))


def _rebuild(cls: type[IPCError], message: str, code: str) -> IPCError:
    return cls(message, code=code)


class IPCConfigError(IPCError, ValueError):
    """Raised when a config value or argument you passed is wrong.

    The message names the key and the value seen.
    """

    #: fastipc's code for a wrong config value or argument.
    code = "ERR_IPC_CONFIG"


class IPCEncodeError(IPCError, TypeError):
    """Raised when a value you emit has no JSON form on the wire.

    The message names the value's type and where it sat.
    """

    #: fastipc's code for data that has no JSON form.
    code = "ERR_IPC_ENCODE"


class IPCProtocolError(IPCError):
    """Raised when a peer sent bytes that break the protocol.

    ``code`` is one of node-ipc 14's protocol error codes. The connection
    that carried the bad frame is closed; others are not affected.
    ``events`` holds the well-formed events that arrived in the same chunk
    before the bad frame, in order, so that nothing valid is lost.

    fastipc raises the same classes at once from ``emit`` and ``broadcast``
    when what you send would break a rule the peer enforces (guarded and
    assured profiles); ``events`` is then empty.

    Args:
        message: what the peer sent that broke the rule, and the limit.
        code: a code for this instance instead of the class's own.
    """

    #: The code of a protocol error that has no code of its own; every
    #: subclass sets node-ipc 14's code for its fault.
    code = "ERR_IPC_PROTOCOL"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        #: The well-formed ``(type, data)`` events that arrived in the same
        #: chunk before the bad frame, in order (a server or client still
        #: hands them to their handlers); empty when there were none.
        self.events: list[tuple[str, object]] = []


class InvalidJSONError(IPCProtocolError):
    """Raised when a frame is not valid UTF-8 JSON."""

    #: node-ipc 14's code for a frame that is not valid UTF-8 JSON.
    code = "ERR_IPC_INVALID_JSON"


class InvalidMessageError(IPCProtocolError):
    """Raised when a frame is JSON but not a JSON object."""

    #: node-ipc 14's code for a frame that is not a JSON object.
    code = "ERR_IPC_INVALID_MESSAGE"


class InvalidEventError(IPCProtocolError):
    """Raised when an event type is missing, empty, not a string, or unsafe."""

    #: node-ipc 14's code for a missing, empty, non-string or unsafe event type.
    code = "ERR_IPC_INVALID_EVENT"


class EventTooLargeError(IPCProtocolError):
    """Raised when an event type is longer than ``maxEventNameLength``."""

    #: node-ipc 14's code for an event type longer than ``maxEventNameLength``.
    code = "ERR_IPC_EVENT_TOO_LARGE"


class ReservedEventError(IPCProtocolError):
    """Raised when a peer sends a reserved lifecycle event name."""

    #: node-ipc 14's code for a reserved lifecycle event name.
    code = "ERR_IPC_RESERVED_EVENT"


class EventNotAllowedError(IPCProtocolError):
    """Raised when an event type is not in ``allowedEvents`` (assured)."""

    #: node-ipc 14's code for an event type outside ``allowedEvents``.
    code = "ERR_IPC_EVENT_NOT_ALLOWED"


class FrameTooLargeError(IPCProtocolError):
    """Raised when a frame, finished or not, exceeds ``maxMessageSize``."""

    #: node-ipc 14's code for a frame larger than ``maxMessageSize``.
    code = "ERR_IPC_FRAME_TOO_LARGE"


class BackpressureError(IPCProtocolError):
    """Raised when queued outbound bytes would exceed ``maxPendingBytes``."""

    #: node-ipc 14's code for outbound bytes past ``maxPendingBytes``.
    code = "ERR_IPC_BACKPRESSURE"


class MessageTimeoutError(IPCProtocolError):
    """Raised when an unfinished frame waits longer than ``messageTimeout``."""

    #: node-ipc 14's code for a frame unfinished after ``messageTimeout``.
    code = "ERR_IPC_MESSAGE_TIMEOUT"


class AssuredTransportError(IPCError):
    """Raised when the assured profile is used over a transport it forbids."""

    #: node-ipc 14's code for a transport the assured profile forbids.
    code = "ERR_IPC_ASSURED_TRANSPORT"


class AssuredTLSError(IPCError):
    """Raised when the assured profile is used without mutual TLS."""

    #: node-ipc 14's code for the assured profile without mutual TLS.
    code = "ERR_IPC_ASSURED_TLS"


class TLSConfigurationError(IPCConfigError):
    """Raised when TLS files are missing, unreadable or do not match."""

    #: node-ipc 14's code for TLS files or options that are wrong.
    code = "ERR_IPC_TLS_CONFIGURATION"


class SocketRootError(IPCError, OSError):
    """Raised when ``socketRoot`` is not a private directory of yours."""

    #: node-ipc 14's code for an unsafe ``socketRoot``.
    code = "ERR_IPC_SOCKET_ROOT"


class UnlinkNotSocketError(IPCError, OSError):
    """Raised when ``unlink`` would remove something that is not a socket."""

    #: node-ipc 14's code for a socket path that holds something else.
    code = "ERR_IPC_UNLINK_NOT_SOCKET"


#: Protocol error class for each node-ipc code a peer can cause.
PROTOCOL_ERRORS: dict[str, type[IPCProtocolError]] = {
    cls.code: cls
    for cls in (
        InvalidJSONError,
        InvalidMessageError,
        InvalidEventError,
        EventTooLargeError,
        ReservedEventError,
        EventNotAllowedError,
        FrameTooLargeError,
        BackpressureError,
        MessageTimeoutError,
    )
}


def protocol_error(code: str, message: str) -> IPCProtocolError:
    """Make the [`IPCProtocolError`][fastipc.IPCProtocolError] subclass that matches ``code``.

    Both codecs build their errors with it, so one code always gives the
    same class.

    Args:
        code: a key of [`PROTOCOL_ERRORS`][fastipc.errors.PROTOCOL_ERRORS],
            such as ``'ERR_IPC_INVALID_JSON'``.
        message: the error's message.

    Returns:
        A new instance of that class, not raised, with ``events`` empty.

    Raises:
        KeyError: Raised when ``code`` is not a protocol code a peer can
            cause.
    """
    return PROTOCOL_ERRORS[code](message)


class IPCNotConnectedError(IPCError, ConnectionError):
    """Raised when you emit on a connection that is closed for good.

    A client raises it from ``emit`` once it is destroyed or disconnected,
    and from [`wait_connected()`][fastipc.Client.wait_connected] when it is
    destroyed before it connects. A server does not raise it: emitting to a
    closed socket passes it to the server's ``error`` handlers instead.
    """

    #: fastipc's code for an emit on a connection that is closed for good.
    code = "ERR_IPC_NOT_CONNECTED"


class RequestTimeoutError(IPCError, TimeoutError):
    """Raised by ``request()`` when no answer came within its ``timeout``.

    An answer that arrives later is dropped and counted in ``lateReplies``.
    """

    #: fastipc's code for a request that timed out.
    code = "ERR_IPC_REQUEST_TIMEOUT"


class RemoteError(IPCError):
    """Raised by ``request()`` when the peer's handler raised, or the peer
    has no handler for the request's type.

    Args:
        message: the remote exception's message.
        remote_type: the remote exception's class name (``'ValueError'``).
        remote_traceback: the remote traceback as text (empty when the
            peer sent none).
        code: a code for this instance instead of the class's own.
    """

    #: fastipc's code for an exception raised by the peer's handler.
    code = "ERR_IPC_REMOTE_ERROR"

    def __init__(
        self,
        message: str,
        *,
        remote_type: str = "Error",
        remote_traceback: str = "",
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        #: The class name of the exception the peer's handler raised.
        self.remote_type = remote_type
        #: The peer's traceback, as text.
        self.remote_traceback = remote_traceback

    def __str__(self) -> str:
        return f"{self.remote_type}: {self.args[0]}"

    def __reduce__(self) -> typing.Any:
        return (
            _rebuild_remote,
            (str(self.args[0]), self.remote_type, self.remote_traceback, self.code),
        )

    @classmethod
    def from_wire(cls, detail: typing.Any) -> RemoteError:
        """Build one from a reply's ``error`` object (any shape a peer sent)."""
        if not isinstance(detail, dict):
            return cls(repr(detail))
        return cls(
            str(detail.get("message", "")),
            remote_type=str(detail.get("type") or "Error"),
            remote_traceback=str(detail.get("traceback") or ""),
        )


def _rebuild_remote(
    message: str, remote_type: str, remote_traceback: str, code: str
) -> RemoteError:
    return RemoteError(
        message, remote_type=remote_type, remote_traceback=remote_traceback, code=code
    )
