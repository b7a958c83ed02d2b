"""Listening stream sockets (Unix sockets, TCP, TLS) with fastipc's own accept loop.

asyncio's servers report what goes wrong while accepting to the loop's
exception handler only: a process out of file descriptors (EMFILE) becomes an
"Exception in callback"-style log line that the server's owner never sees.
``Listener`` accepts itself, so each such failure reaches its owner
(the fastipc server logs it and emits ``error``), and accepting pauses and
resumes by itself until descriptors are free again.

Each accepted socket is handed to ``loop.connect_accepted_socket`` (with the
server's TLS context, if any), which builds the same transport and
``StreamProtocol`` an asyncio server would.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Callable
from typing import Any

__all__ = ["RESOURCE_ERRORS", "Listener", "bind_tcp", "bind_unix"]

#: accept() errors that mean "out of resources for now": accepting pauses
#: for RESUME_DELAY seconds and then tries again.
RESOURCE_ERRORS = frozenset(
    code
    for code in (
        getattr(errno, "EMFILE", None),
        getattr(errno, "ENFILE", None),
        getattr(errno, "ENOBUFS", None),
        getattr(errno, "ENOMEM", None),
    )
    if code is not None
)
RESUME_DELAY = 0.25


def bind_unix(path: str, backlog: int) -> socket.socket:
    """A Unix stream socket bound to ``path`` and listening.

    Binding here, not in asyncio: asyncio would silently remove a socket
    already at the path, which ``unlink=False`` must not do.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def bind_tcp(
    loop: asyncio.AbstractEventLoop, host: str, port: int, backlog: int
) -> list[socket.socket]:
    """Listening TCP sockets for every address ``host`` resolves to, as
    asyncio's ``create_server`` binds them (SO_REUSEADDR; IPv6 sockets
    IPv6-only). Port 0 binds one ephemeral port, shared by all of them."""
    try:
        # a numeric host needs no resolver thread
        infos = socket.getaddrinfo(
            host,
            port,
            family=socket.AF_UNSPEC,
            type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE | socket.AI_NUMERICHOST,
        )
    except socket.gaierror:
        infos = await loop.getaddrinfo(
            host, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    sockets: list[socket.socket] = []
    seen: set[Any] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            try:
                sock.bind(address)
            except OSError as exc:
                raise OSError(
                    exc.errno,
                    f"error while attempting to bind on address {address!r}: {exc.strerror}",
                ) from None
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Listener:
    """Accepts connections on listening sockets and hands them to ``factory``.

    The owner's callbacks: ``on_accept_error(exc, again)`` for an accept()
    that failed, ``again`` when accepting has failed since it last worked
    (resource errors pause accepting; accepting resumes by itself),
    ``on_accepted()`` when accepting works again after such a failure, and
    ``on_handshake_error(exc)`` for a connection whose set-up (a TLS
    handshake) failed; none of them may raise.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sockets: list[socket.socket],
        factory: Callable[[], asyncio.Protocol],
        *,
        backlog: int,
        ssl_context: ssl.SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
        on_accept_error: Callable[[OSError, bool], None],
        on_accepted: Callable[[], None],
        on_handshake_error: Callable[[BaseException], None],
    ) -> None:
        self._loop = loop
        self.sockets = list(sockets)
        self._factory = factory
        self._backlog = backlog
        self._ssl = ssl_context
        self._ssl_handshake_timeout = ssl_handshake_timeout
        self._on_accept_error = on_accept_error
        self._on_accepted = on_accepted
        self._on_handshake_error = on_handshake_error
        self._serving = True
        self._failing = False
        self._resume: asyncio.TimerHandle | None = None
        self._pending: set[asyncio.Task[Any]] = set()
        self._closed = loop.create_future()
        for sock in self.sockets:
            loop.add_reader(sock.fileno(), self._accept, sock)

    def is_serving(self) -> bool:
        """Whether it is accepting connections."""
        return self._serving

    def _accept(self, sock: socket.socket) -> None:
        # Called when the socket is readable: take what the backlog holds,
        # at most one backlog's worth per loop turn.
        for _ in range(self._backlog):
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno in RESOURCE_ERRORS:
                    # Linux keeps reporting the socket readable: stop
                    # watching it for a moment rather than spin.
                    self._pause()
                    self._resume = self._loop.call_later(RESUME_DELAY, self._restart)
                again, self._failing = self._failing, True
                self._on_accept_error(exc, again)
                return
            if self._failing:
                self._failing = False
                self._on_accepted()
            conn.setblocking(False)
            task = self._loop.create_task(self._connect(conn))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            if self._ssl is None:
                await self._loop.connect_accepted_socket(self._factory, conn)
            else:
                await self._loop.connect_accepted_socket(
                    self._factory,
                    conn,
                    ssl=self._ssl,
                    ssl_handshake_timeout=self._ssl_handshake_timeout,
                )
        except asyncio.CancelledError:
            conn.close()
            raise
        except Exception as exc:
            conn.close()
            self._on_handshake_error(exc)

    def _pause(self) -> None:
        for sock in self.sockets:
            if sock.fileno() >= 0:
                self._loop.remove_reader(sock.fileno())

    def _restart(self) -> None:
        self._resume = None
        if not self._serving:
            return
        for sock in self.sockets:
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    def close(self) -> None:
        """Stop accepting and close the listening sockets; connections already
        accepted are the owner's to close."""
        if not self._serving:
            return
        self._serving = False
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        self._pause()
        for sock in self.sockets:
            sock.close()
        for task in self._pending:
            task.cancel()
        if self._pending:
            gathered = asyncio.gather(*self._pending, return_exceptions=True)
            gathered.add_done_callback(self._set_closed)
        else:
            self._closed.set_result(None)

    def _set_closed(self, _: object) -> None:
        if not self._closed.done():
            self._closed.set_result(None)

    async def wait_closed(self) -> None:
        """Wait until ``close`` has finished."""
        await asyncio.shield(self._closed)
