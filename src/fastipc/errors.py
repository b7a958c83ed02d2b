"""The exceptions fastipc raises.

Every error carries a ``code`` class attribute. Faults caused by a peer (bad
bytes on the wire) are :class:`IPCProtocolError`; faults caused by the caller
(a wrong config value, a value that cannot be encoded) are
:class:`IPCConfigError` and :class:`IPCEncodeError`. The protocol codes are
node-ipc 14's, so a Python and a Node process report the same fault by the
same name.
"""

from __future__ import annotations

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
    "ReservedEventError",
    "SocketRootError",
    "TLSConfigurationError",
    "UnlinkNotSocketError",
    "protocol_error",
]


class IPCError(Exception):
    """Base class of every exception fastipc raises on purpose."""

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

    code = "ERR_IPC_CONFIG"


class IPCEncodeError(IPCError, TypeError):
    """Raised when a value you emit has no JSON form on the wire.

    The message names the value's type and where it sat.
    """

    code = "ERR_IPC_ENCODE"


class IPCProtocolError(IPCError):
    """Raised when a peer sent bytes that break the protocol.

    ``code`` is one of node-ipc 14's protocol error codes. The connection
    that carried the bad frame is closed; others are not affected.
    ``events`` holds the well-formed events that arrived in the same chunk
    before the bad frame, in order, so that nothing valid is lost.
    """

    code = "ERR_IPC_PROTOCOL"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.events: list[tuple[str, object]] = []


class InvalidJSONError(IPCProtocolError):
    """Raised when a frame is not valid UTF-8 JSON."""

    code = "ERR_IPC_INVALID_JSON"


class InvalidMessageError(IPCProtocolError):
    """Raised when a frame is JSON but not a JSON object."""

    code = "ERR_IPC_INVALID_MESSAGE"


class InvalidEventError(IPCProtocolError):
    """Raised when an event type is missing, empty, not a string, or unsafe."""

    code = "ERR_IPC_INVALID_EVENT"


class EventTooLargeError(IPCProtocolError):
    """Raised when an event type is longer than ``maxEventNameLength``."""

    code = "ERR_IPC_EVENT_TOO_LARGE"


class ReservedEventError(IPCProtocolError):
    """Raised when a peer sends a reserved lifecycle event name."""

    code = "ERR_IPC_RESERVED_EVENT"


class EventNotAllowedError(IPCProtocolError):
    """Raised when an event type is not in ``allowedEvents`` (assured)."""

    code = "ERR_IPC_EVENT_NOT_ALLOWED"


class FrameTooLargeError(IPCProtocolError):
    """Raised when a frame, finished or not, exceeds ``maxMessageSize``."""

    code = "ERR_IPC_FRAME_TOO_LARGE"


class BackpressureError(IPCProtocolError):
    """Raised when queued outbound bytes would exceed ``maxPendingBytes``."""

    code = "ERR_IPC_BACKPRESSURE"


class MessageTimeoutError(IPCProtocolError):
    """Raised when an unfinished frame waits longer than ``messageTimeout``."""

    code = "ERR_IPC_MESSAGE_TIMEOUT"


class AssuredTransportError(IPCError):
    """Raised when the assured profile is used over a transport it forbids."""

    code = "ERR_IPC_ASSURED_TRANSPORT"


class AssuredTLSError(IPCError):
    """Raised when the assured profile is used without mutual TLS."""

    code = "ERR_IPC_ASSURED_TLS"


class TLSConfigurationError(IPCConfigError):
    """Raised when TLS files are missing, unreadable or do not match."""

    code = "ERR_IPC_TLS_CONFIGURATION"


class SocketRootError(IPCError, OSError):
    """Raised when ``socketRoot`` is not a private directory of yours."""

    code = "ERR_IPC_SOCKET_ROOT"


class UnlinkNotSocketError(IPCError, OSError):
    """Raised when ``unlink`` would remove something that is not a socket."""

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
    """Build the :class:`IPCProtocolError` subclass that matches ``code``."""
    return PROTOCOL_ERRORS[code](message)


class IPCNotConnectedError(IPCError, ConnectionError):
    """Raised when you emit on a connection that is closed for good."""

    code = "ERR_IPC_NOT_CONNECTED"
