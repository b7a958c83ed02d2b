"""The UDP transport (udp4, udp6): a thin asyncio DatagramProtocol.

Bytes enter in ``DatagramProtocol.datagram_received``. Each datagram is
decoded on its own: it must carry one or more complete frames, and the
decoder is left empty after every datagram, so a bad or unfinished datagram
from one peer can never spoil the next datagram, from that peer or another.
(node-ipc 14 keeps a per-peer string buffer instead and joins an unfinished
datagram to that peer's next one; node-ipc 9.2.1 decodes each datagram alone
and drops one that does not end with the delimiter. Both send every frame in
a datagram of its own, so every datagram they send decodes the same here.)

The protocol knows nothing of JSON (the decoder it is given does) nor of
peers (its owner, the UDP server, does).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any, Protocol

from ..errors import IPCProtocolError, protocol_error
from . import Decoder

__all__ = ["DatagramOwner", "DatagramProtocol", "bind_datagram"]


class DatagramOwner(Protocol):
    """What a UDP server provides to its socket."""

    def _datagram_received(self, addr: Any, events: list[tuple[str, Any]]) -> None: ...

    def _datagram_failed(self, addr: Any, error: IPCProtocolError) -> None: ...

    def _socket_error(self, exc: Exception) -> None: ...

    def _socket_closed(self, exc: Exception | None) -> None: ...


class DatagramProtocol(asyncio.DatagramProtocol):
    """One bound UDP socket.

    Args:
        owner: the server that receives events and errors.
        decoder: the codec's decoder, or ``None`` in raw mode, where each
            datagram is one ``data`` event, as it arrived.
    """

    def __init__(self, owner: DatagramOwner, decoder: Decoder | None) -> None:
        self.owner = owner
        self.decoder = decoder
        self.transport: asyncio.DatagramTransport | None = None
        self.closed = False
        self._closed: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not asyncio subclasses
        self._closed = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        decoder = self.decoder
        if decoder is None:
            # raw: one datagram, one event, empty ones included (node-ipc 14)
            self.owner._datagram_received(addr, [("data", bytes(data))])
            return
        try:
            events = decoder.feed(data)
        except IPCProtocolError as error:  # the decoder has reset itself
            self.owner._datagram_failed(addr, error)
            return
        tail = decoder.pending
        if tail:
            decoder.reset()
            unfinished = protocol_error(
                "ERR_IPC_INVALID_MESSAGE",
                f"datagram of {len(data)} bytes ends inside a frame ({tail} bytes after the "
                "last delimiter); every UDP datagram must carry complete frames",
            )
            unfinished.events = events
            self.owner._datagram_failed(addr, unfinished)
            return
        if events:
            self.owner._datagram_received(addr, events)

    def error_received(self, exc: Exception) -> None:
        self.owner._socket_error(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)
        self.owner._socket_closed(exc)

    def sendto(self, data: bytes, addr: Any) -> None:
        """Send one datagram; call on the loop thread."""
        if self.transport is None or self.closed or self.transport.is_closing():
            return
        self.transport.sendto(data, addr)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    async def wait_closed(self) -> None:
        if self._closed is not None:
            await asyncio.shield(self._closed)


async def bind_datagram(
    loop: asyncio.AbstractEventLoop,
    factory: Callable[[], DatagramProtocol],
    *,
    host: str,
    port: int,
    family: int,
    sock: socket.socket | None = None,
) -> tuple[asyncio.DatagramTransport, DatagramProtocol]:
    """Bind ``host:port`` (or serve ``sock``, a bound UDP socket) for ``factory``'s protocol."""
    if sock is not None:
        return await loop.create_datagram_endpoint(factory, sock=sock)
    return await loop.create_datagram_endpoint(factory, local_addr=(host, port), family=family)
