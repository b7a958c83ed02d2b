"""Protocol constants shared by both codec implementations and the API layer."""

from __future__ import annotations

from typing import Final

__all__ = [
    "DEFAULT_BACKLOG",
    "DEFAULT_DELIMITER",
    "DEFAULT_MAX_EVENT_NAME_LENGTH",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_MAX_PENDING_BYTES",
    "DEFAULT_MESSAGE_TIMEOUT",
    "MAX_DEPTH",
    "OMITTED",
    "PROFILES",
    "RESERVED_EVENTS",
    "UNSAFE_EVENTS",
]


class _Omitted:
    """The type of ``OMITTED``: "no data", which is not ``None``."""

    _instance: _Omitted | None = None

    def __new__(cls) -> _Omitted:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "OMITTED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "OMITTED"


#: Default for ``data``: the event carries no data, sent as ``{}`` the way
#: node-ipc sends ``undefined``. ``None`` is different: it is sent as ``null``.
OMITTED: Final = _Omitted()

PROFILES: Final = ("raw", "fast", "guarded", "assured")

#: Lifecycle names a peer may not send under guarded/assured.
RESERVED_EVENTS: Final = frozenset(
    ("start", "connect", "disconnect", "destroy", "close", "socket.disconnected", "error", "data")
)

#: Names of ``Object.prototype``'s own properties: node-ipc 14 refuses these
#: as event types under guarded/assured because its dispatcher is a JS object.
UNSAFE_EVENTS: Final = frozenset(
    (
        "constructor",
        "__defineGetter__",
        "__defineSetter__",
        "hasOwnProperty",
        "__lookupGetter__",
        "__lookupSetter__",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toString",
        "valueOf",
        "__proto__",
        "toLocaleString",
    )
)

DEFAULT_DELIMITER: Final = "\f"
DEFAULT_MAX_MESSAGE_SIZE: Final = 1024 * 1024
DEFAULT_MAX_PENDING_BYTES: Final = 8 * 1024 * 1024
DEFAULT_MAX_EVENT_NAME_LENGTH: Final = 256
DEFAULT_MESSAGE_TIMEOUT: Final = 30000

#: A server's listen backlog (a fastipc key; node-ipc's servers listen with
#: Node's default, 511). asyncio's own default, 100, is too short for a
#: pool of workers connecting at once.
DEFAULT_BACKLOG: Final = 511

#: Deepest nesting of lists and dicts that the encoder writes; deeper (or
#: circular) data raises IPCEncodeError instead of overflowing the stack.
MAX_DEPTH: Final = 512
