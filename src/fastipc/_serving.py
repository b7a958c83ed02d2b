"""What every server shares, stream or UDP: config, codec and lifecycle.

:class:`ServerBase` holds the parts of ``ipc.server`` that do not depend on
the transport: the shared config and its snapshot of wire settings, the
encoder, ``start``/``stop`` on the right loop, and ``wait_started`` and
``wait_closed``. :class:`~fastipc._server.Server` (Unix sockets, TCP, TLS,
named pipes) and :class:`~fastipc._udp.UDPServer` (udp4, udp6) build on it
and add what their transport needs. :class:`Peer` is what both hand their
handlers: one client connection, or one UDP sender.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket as _socket
from typing import Any, Generic, TypeVar

from ._config import Config
from ._constants import OMITTED
from ._emitter import EventEmitter
from ._loop import LoopHandle, acquire_loop
from ._wire import Wire
from .errors import IPCError

__all__ = ["Peer", "ServerBase"]

P = TypeVar("P", bound="Peer")


class Peer:
    """A peer as a server's handlers receive it: a connection or a UDP sender.

    Attributes:
        id: the peer's id when ``identifyPeer`` is on and it sent one
            (a dict payload with an ``id``), else ``False``.
        remoteAddress: the peer's IP address over TCP, TLS and UDP, else
            ``None``.
        remotePort: the peer's port over TCP, TLS and UDP, else ``None``.
        remoteFamily: ``'IPv4'`` or ``'IPv6'`` over TCP, TLS and UDP, else
            ``None``.
        peerPid: the peer's process id as the OS reports it, over a Unix
            socket (``SO_PEERCRED``) or a named pipe; else ``None``.
    """

    __slots__ = ("__weakref__", "_server", "id", "peerPid", "remoteAddress", "remoteFamily", "remotePort")

    def __init__(self, server: Any, address: Any, pid: int | None = None) -> None:
        self._server = server
        self.id: Any = False
        self.peerPid: int | None = pid
        if isinstance(address, tuple) and len(address) >= 2:
            self.remoteAddress: str | None = address[0]
            self.remotePort: int | None = address[1]
            self.remoteFamily: str | None = "IPv6" if len(address) == 4 else "IPv4"
        else:
            self.remoteAddress = self.remotePort = self.remoteFamily = None

    def emit(self, type: Any, data: Any = OMITTED) -> bool:
        """Send an event to this peer: ``server.emit(peer, type, data)``."""
        return bool(self._server.emit(self, type, data))


class ServerBase(EventEmitter, Generic[P]):
    """The lifecycle and codec every node-ipc server shares.

    Subclasses provide :meth:`_prepare` (checks and set-up on the caller's
    thread, before anything listens), :meth:`_open` (listen or bind, on the
    loop), :meth:`_announce` (the events once listening), :meth:`_shutdown`
    (close everything, on the loop) and ``listening``.
    """

    def __init__(self, config: Config, where: str, port: int | None, log: Any) -> None:
        super().__init__()
        #: The ``ipc.config`` this server shares with its ``IPC``: as in
        #: node-ipc, ``start()`` reads the keys about listening
        #: (``maxConnections``, ``tls``, ``unlink``, ``socketRoot``, ...)
        #: when it runs. The wire settings (parser, delimiter, limits,
        #: encoding, identifyPeer, logPayloads) are fixed when the server is
        #: made, as node-ipc makes its parser then.
        self.config = config
        self._wire = wire = Wire(config)
        #: The socket path, or the host of a network server.
        self.path: str = where
        #: The port of a network server (the bound one once started when
        #: port 0 asked for any free port); ``None`` for a local socket.
        self.port = port
        #: The peers: connected clients, or the UDP senders heard from.
        self.sockets: list[P] = []
        self._log = log or (lambda *args: None)
        self._encode = wire.encode  # the hot path's encoder
        self._handle: LoopHandle | None = None
        self._stopped = False
        # set on the loop, awaited from any thread or loop
        self._started: concurrent.futures.Future[None] | None = None
        self._closed: concurrent.futures.Future[None] | None = None

    # ------------------------------------------------------------ subclass hooks

    def _prepare(self, sock: _socket.socket | None) -> None:
        raise NotImplementedError

    async def _open(self) -> None:
        raise NotImplementedError

    def _announce(self) -> None:
        raise NotImplementedError

    async def _shutdown(self) -> None:
        raise NotImplementedError

    def _open_failed(self, exc: Exception) -> None:
        self._log("server error", exc)

    # ------------------------------------------------------------ lifecycle

    def start(self, sock: _socket.socket | None = None) -> None:
        """Start serving; see the subclass for what ``sock`` may be."""
        if self._handle is not None:
            raise IPCError("server already started; stop() it first")
        self._prepare(sock)
        handle = acquire_loop()
        self._handle = handle
        self._stopped = False
        self._started = concurrent.futures.Future()
        self._closed = concurrent.futures.Future()
        future = handle.submit(self._open_and_announce())
        if handle.background:
            try:
                future.result()
            except BaseException:
                self._release()
                raise
        else:
            # inside a running loop: what stops it from listening reaches the
            # 'error' handlers and wait_started(); the task's copy is retrieved
            future.add_done_callback(_retrieve)

    async def _open_and_announce(self) -> None:
        started = self._started
        assert started is not None
        try:
            await self._open()
        except Exception as exc:
            self._open_failed(exc)
            started.set_exception(exc)
            self._dispatch("error", exc)
            self._release()
            raise
        started.set_result(None)
        self._announce()

    async def wait_started(self) -> None:
        """Wait until the server listens; raise what stopped it from listening.

        Raises:
            IPCError: Raised when :meth:`start` was not called.
        """
        started = self._started
        if started is None:
            raise IPCError("server not started: call start() first")
        await _settled(started)

    def stop(self) -> None:
        """Close every connection and stop listening.

        From synchronous code this returns once everything is closed, and
        the background loop thread is released; inside a running loop it
        returns at once (await :meth:`wait_closed`).
        """
        handle = self._handle
        if handle is None or self._stopped:
            return
        self._stopped = True
        future = handle.submit(self._shutdown_and_release())
        if handle.background and not handle.in_loop_thread():
            future.result()
        else:
            # nobody waits on it here: what goes wrong is an 'error' event
            future.add_done_callback(self._stopping_done)

    async def _shutdown_and_release(self) -> None:
        try:
            await self._shutdown()
        finally:
            self._release()

    def _stopping_done(self, future: Any) -> None:
        if not future.cancelled() and future.exception() is not None:
            self._dispatch("error", future.exception())

    async def wait_closed(self) -> None:
        """Wait until :meth:`stop` has closed everything; at once when the
        server is not started."""
        closed = self._closed
        if closed is None or self._handle is None:
            return
        await _settled(closed)

    def _release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.release()
        closed = self._closed
        if closed is not None and not closed.done():
            closed.set_result(None)

    def _outgoing(self, type: Any, data: Any, action: str) -> bytes:
        """The frame ``emit``/``broadcast`` sends, logged under ``logPayloads``."""
        wire = self._wire
        frame = wire.frame(type, data)
        if wire.log_payloads:
            self._log(action, "<raw-buffer>" if wire.raw else type, data)
        return frame

    def _loop_call(self, fn: Any, *args: Any) -> None:
        handle = self._handle
        if handle is not None:
            handle.call(fn, *args)


async def _settled(future: concurrent.futures.Future[None]) -> None:
    # shielded: a caller's timeout must not cancel the future other waiters share
    await asyncio.shield(asyncio.wrap_future(future))


def _retrieve(future: Any) -> None:
    if not future.cancelled():
        future.exception()
