"""Transports: bytes in and out over sockets and pipes, no JSON.

``endpoint`` decides which stream transport a server or client gets;
``stream`` drives a connection, ``udp`` a datagram socket,
``listener`` accepts on Unix and TCP sockets, ``winpipe`` serves
and connects Windows named pipes. Each is handed a codec decoder that
satisfies ``Decoder``.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Decoder"]


class Decoder(Protocol):
    """What a transport needs of the codec's decoder."""

    def feed(self, chunk: bytes) -> list[tuple[str, Any]]: ...

    def reset(self) -> None: ...

    @property
    def pending(self) -> int: ...
