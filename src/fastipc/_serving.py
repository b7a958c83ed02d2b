"""What every server shares, stream or UDP: config, codec and lifecycle.

``ServerBase`` holds the parts of ``ipc.server`` that do not depend on
the transport: the shared config and its snapshot of wire settings, the
encoder, ``start``/``stop`` on the right loop, and ``wait_started`` and
``wait_closed``. ``Server`` (``_server.py``: Unix sockets, TCP, TLS, named
pipes) and ``UDPServer`` (``_udp.py``: udp4, udp6) build on it and add what
their transport needs. ``Peer`` is what both hand their handlers: one client
connection, or one UDP sender.
"""

from __future__ import annotations

import abc
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

    Its attributes (``id``, ``peerPid``, ``remoteAddress``, ``remotePort``,
    ``remoteFamily``) are documented with ``#:`` comments where they are
    set, so the reference shows them on ``IPCSocket`` and ``UDPPeer``.
    """

    __slots__ = (
        "__weakref__",
        "_server",
        "id",
        "peerPid",
        "remoteAddress",
        "remoteFamily",
        "remotePort",
    )

    def __init__(self, server: Any, address: Any, pid: int | None = None) -> None:
        self._server = server
        #: The peer's id when ``identifyPeer`` is on and it sent one (the
        #: ``id`` of a dict payload, taken before that event's handlers
        #: run), else ``False``. A stream server's ``socket.disconnected``
        #: handlers get it as ``destroyedSocketID``.
        self.id: Any = False
        #: The peer's process id as the OS reports it, over a Unix socket
        #: (``SO_PEERCRED``, Linux) or a named pipe; else ``None`` (TCP,
        #: TLS, UDP, or an OS that does not tell).
        self.peerPid: int | None = pid
        if isinstance(address, tuple) and len(address) >= 2:
            #: The peer's IP address over TCP, TLS and UDP; ``None`` over a
            #: Unix socket or a named pipe.
            self.remoteAddress: str | None = address[0]
            #: The peer's port over TCP, TLS and UDP; ``None`` over a Unix
            #: socket or a named pipe.
            self.remotePort: int | None = address[1]
            #: ``'IPv4'`` or ``'IPv6'`` over TCP, TLS and UDP; ``None`` over
            #: a Unix socket or a named pipe.
            self.remoteFamily: str | None = "IPv6" if len(address) == 4 else "IPv4"
        else:
            self.remoteAddress = self.remotePort = self.remoteFamily = None

    def emit(self, type: Any, data: Any = OMITTED) -> bool:
        """Send an event to this peer: ``server.emit(peer, type, data)``.

        Args:
            type: the event name, or the raw-mode payload; what the
                server's ``emit`` takes.
            data: the event's data; what the server's ``emit`` takes.

        Returns:
            What the server's ``emit`` returns (for a UDP peer, see
            [`UDPServer.emit`][fastipc.UDPServer.emit]): ``False`` when
            nothing was sent or the peer is behind.

        Raises:
            IPCEncodeError: Raised when the data has no JSON form.
            IPCProtocolError: Raised under guarded/assured when the event
                breaks the profile's rules.
        """
        return bool(self._server.emit(self, type, data))


class ServerBase(EventEmitter, Generic[P], metaclass=abc.ABCMeta):
    """The lifecycle and codec every node-ipc server shares.

    Subclasses provide ``_prepare`` (checks and set-up on the caller's
    thread, before anything listens), ``_open`` (listen or bind, on the
    loop), ``_announce`` (the events once listening), ``_shutdown`` (close
    everything, on the loop) and ``listening``.
    """

    def __init__(self, config: Config, where: str, port: int | None, log: Any) -> None:
        super().__init__()
        #: The ``ipc.config`` this server shares with its ``IPC`` (the same
        #: object, not a copy): as in node-ipc, ``start()`` reads the keys
        #: about listening (``maxConnections``, ``tls``, ``unlink``,
        #: ``socketRoot``, ...) when it runs. The wire settings (parser,
        #: delimiter, limits, encoding, identifyPeer, logPayloads) are fixed
        #: when the server is made, as node-ipc makes its parser then.
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

    @abc.abstractmethod
    def _prepare(self, sock: _socket.socket | None) -> None:
        """Check the config and set up on the caller's thread, before the loop."""

    @abc.abstractmethod
    async def _open(self) -> None:
        """Listen or bind, on the loop; raise what stopped it."""

    @abc.abstractmethod
    def _announce(self) -> None:
        """The events that say the server listens."""

    @abc.abstractmethod
    async def _shutdown(self) -> None:
        """Close every connection and the listening socket, on the loop."""

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

        The async counterpart of a synchronous ``start()``: inside a running
        event loop ``start()`` returns at once, and this waits for the
        outcome. It may be awaited from any thread or event loop, by any
        number of callers; cancelling one wait cancels nothing else.

        Raises:
            IPCError: Raised when ``start()`` was not called.
            OSError: Raised when listening failed, for example when the
                address is in use. Any other error that stopped the server
                from listening is raised as it is.
        """
        started = self._started
        if started is None:
            raise IPCError("server not started: call start() first")
        await _settled(started)

    def stop(self) -> None:
        """Stop listening and let go of every peer.

        A stream server closes each client's connection at once (handlers
        get ``close``, not ``socket.disconnected``) and removes the socket
        file it made; a UDP server closes its socket and forgets the peers
        it heard from. From synchronous code this returns once everything is
        closed, and the background loop thread is released; inside a running
        loop it returns at once (await ``wait_closed()``), and what goes
        wrong while closing reaches the ``error`` handlers. Calling it again,
        or before ``start()``, does nothing.
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
        """Wait until ``stop()`` has closed everything.

        Returns at once when the server is not started (or is stopped
        already). It may be awaited from any thread or event loop.
        """
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
