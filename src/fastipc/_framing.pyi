"""Type stub of the compiled codec; its behaviour is that of ``_framing_py``."""

from collections.abc import Iterable
from typing import Any, Final, Literal

from ._constants import OMITTED as OMITTED

__all__ = [
    "IMPLEMENTATION",
    "OMITTED",
    "EventDecoder",
    "EventEncoder",
    "encode_event",
    "encode_raw",
    "js_number",
]

IMPLEMENTATION: Final[Literal["cython"]]
CONTRACT: Final[tuple[str, ...]]

def encode_event(type: str, data: Any = ..., delimiter: str | bytes = "\f") -> bytes: ...
def encode_raw(payload: Any, encoding: str = "utf8") -> bytes: ...
def js_number(value: float) -> str: ...

class EventDecoder:
    def __init__(
        self,
        delimiter: str | bytes = "\f",
        profile: str = "fast",
        maxMessageSize: int | float = 1048576,
        maxEventNameLength: int | float = 256,
        allowReservedEvents: bool = False,
        allowedEvents: Iterable[str] | None = None,
    ) -> None: ...
    @property
    def profile(self) -> str: ...
    @property
    def pending(self) -> int: ...
    def reset(self) -> None: ...
    def feed(self, chunk: bytes | bytearray | memoryview) -> list[tuple[str, Any]]: ...

class EventEncoder:
    def __init__(
        self,
        delimiter: str | bytes = "\f",
        profile: str = "fast",
        maxMessageSize: int | float = 1048576,
        maxEventNameLength: int | float = 256,
        allowReservedEvents: bool = False,
        allowedEvents: Iterable[str] | None = None,
    ) -> None: ...
    @property
    def profile(self) -> str: ...
    def encode(self, type: str, data: Any = ...) -> bytes: ...
