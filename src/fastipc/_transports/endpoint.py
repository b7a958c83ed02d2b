"""Which stream transport a server or client gets, decided once.

A node-ipc address is a local socket path (a Unix socket; a named pipe on
Windows) or a host and port (TCP, or TLS when there is a context).
``listen`` and ``connect`` take an ``Endpoint`` and open the
transport it names: servers and clients never branch on the platform or the
address kind themselves. Whatever is opened is driven by a
``StreamProtocol`` from the owner's factory.

This module knows nothing of JSON nor of config keys: its callers translate
config into the arguments here.
"""

from __future__ import annotations

import asyncio
import errno
import random
import socket
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._paths import pipe_path
from .listener import Listener, bind_tcp, bind_unix
from .winpipe import PipeServer, connect_pipe, start_pipe_server

__all__ = ["Endpoint", "Serving", "connect", "listen"]

Factory = Callable[[], asyncio.Protocol]
#: What ``listen`` returns: something with ``close()``, ``wait_closed()``
#: and ``is_serving()``.
Serving = Listener | PipeServer | asyncio.AbstractServer


@dataclass(frozen=True)
class Endpoint:
    """Where to listen or connect.

    Attributes:
        path: the local socket path, or the host when ``port`` is set.
        port: the TCP port; ``None`` for a local socket.
        ssl: the TLS context for a network endpoint, else ``None``.
    """

    path: str
    port: int | None = None
    ssl: ssl.SSLContext | None = None

    @property
    def local(self) -> bool:
        """A Unix socket, or a named pipe on Windows."""
        return self.port is None

    @property
    def kind(self) -> str:
        """``'pipe'``, ``'unix'``, ``'tls'`` or ``'tcp'``."""
        if self.port is None:
            return "pipe" if sys.platform == "win32" else "unix"
        return "tcp" if self.ssl is None else "tls"

    def describe(self, port: int | None = None) -> str:
        """The address as logs and errors name it (``port``: the bound one)."""
        if self.port is None:
            return pipe_path(self.path) if sys.platform == "win32" else self.path
        return f"{self.path}:{self.port if port is None else port}"


@dataclass
class ListenOptions:
    """How a server listens, beside its ``Endpoint``.

    Attributes:
        backlog: the listen backlog.
        sock: a socket that already listens (pre-fork), served instead of
            binding the endpoint.
        handshake_timeout: seconds a TLS handshake may take.
        readable_all, writable_all: widen a local socket's mode (a named
            pipe's DACL) to every user.
        on_accept_error, on_accepted, on_handshake_error: the
            ``Listener`` callbacks.
    """

    backlog: int
    sock: socket.socket | None = None
    handshake_timeout: float | None = None
    readable_all: bool = False
    writable_all: bool = False
    on_accept_error: Callable[[OSError, bool], None] = lambda error, again: None
    on_accepted: Callable[[], None] = lambda: None
    on_handshake_error: Callable[[BaseException], None] = lambda error: None


async def listen(
    loop: asyncio.AbstractEventLoop, endpoint: Endpoint, factory: Factory, options: ListenOptions
) -> tuple[Serving, int | None]:
    """Listen on ``endpoint``; return what serves it and the bound port.

    The bound port is the one a network endpoint got (port 0 asks for any
    free one); ``None`` for a local socket.
    """
    context = endpoint.ssl
    tls: dict[str, Any] = {}
    if context is not None:
        tls = {"ssl": context, "ssl_handshake_timeout": options.handshake_timeout}
    if options.sock is not None:
        # pre-fork: a socket that already listens, TCP or Unix
        sock = options.sock
        sock.setblocking(False)
        listener = _listener(loop, [sock], factory, options, context)
        return listener, _port_of(sock)
    if endpoint.port is None:
        if sys.platform == "win32":
            pipe = await start_pipe_server(
                loop,
                factory,
                pipe_path(endpoint.path),
                readable_all=options.readable_all,
                writable_all=options.writable_all,
            )
            return pipe, None
        sock = bind_unix(endpoint.path, options.backlog)
        return _listener(loop, [sock], factory, options, context), None
    if sys.platform == "win32":
        # The Proactor loop has no add_reader for fastipc's own accept
        # loop: asyncio's server accepts there.
        server = await loop.create_server(
            factory, endpoint.path, endpoint.port, backlog=options.backlog, **tls
        )
        return server, _port_of(server.sockets[0])
    sockets = await bind_tcp(loop, endpoint.path, endpoint.port, options.backlog)
    return _listener(loop, sockets, factory, options, context), _port_of(sockets[0])


def _listener(
    loop: asyncio.AbstractEventLoop,
    sockets: list[socket.socket],
    factory: Factory,
    options: ListenOptions,
    context: ssl.SSLContext | None,
) -> Listener:
    return Listener(
        loop,
        sockets,
        factory,
        backlog=options.backlog,
        ssl_context=context,
        ssl_handshake_timeout=options.handshake_timeout if context is not None else None,
        on_accept_error=options.on_accept_error,
        on_accepted=options.on_accepted,
        on_handshake_error=options.on_handshake_error,
    )


def _port_of(sock: Any) -> int | None:
    name = sock.getsockname()
    return int(name[1]) if isinstance(name, tuple) else None


@dataclass
class ConnectOptions:
    """How a client connects, beside its ``Endpoint``.

    Attributes:
        server_hostname: the name a TLS server's certificate must carry.
        handshake_timeout: seconds a TLS handshake may take.
        local_addr: the local ``(address, port)`` to bind first, if any.
        family: ``AF_INET``/``AF_INET6`` to resolve the host to, or 0.
        flags: ``getaddrinfo`` flags for the host.
        backlog_wait: seconds to wait out a Unix server's full backlog.
        cancelled: says the attempt should stop (the client was
            disconnected); checked while waiting.
    """

    server_hostname: str | None = None
    handshake_timeout: float | None = None
    local_addr: tuple[str, int] | None = None
    family: int = 0
    flags: int = 0
    backlog_wait: float = 2.0
    cancelled: Callable[[], bool] = lambda: False


async def connect(
    loop: asyncio.AbstractEventLoop, endpoint: Endpoint, factory: Factory, options: ConnectOptions
) -> None:
    """Connect to ``endpoint``; the protocol ``factory`` makes drives the result."""
    if endpoint.port is None:
        if sys.platform == "win32":
            await connect_pipe(loop, factory, pipe_path(endpoint.path))
        else:
            sock = await _connect_unix(loop, endpoint.path, options)
            await loop.create_unix_connection(factory, sock=sock)
        return
    kwargs: dict[str, Any] = {"family": options.family, "flags": options.flags}
    if options.local_addr is not None:
        kwargs["local_addr"] = options.local_addr
    if endpoint.ssl is not None:
        kwargs.update(
            ssl=endpoint.ssl,
            server_hostname=options.server_hostname,
            ssl_handshake_timeout=options.handshake_timeout,
        )
    try:
        await loop.create_connection(factory, endpoint.path, endpoint.port, **kwargs)
    except RuntimeError as exc:
        # Once the main thread has returned (the loop thread keeps the
        # process alive), asyncio's resolver thread pool refuses work
        # ("interpreter shutdown", or "cannot schedule new futures after
        # shutdown" when it already existed); resolve here instead (numeric
        # addresses need no pool) and try each address in turn, as asyncio
        # does.
        if "shutdown" not in str(exc):
            raise
        await _connect_resolved_here(loop, endpoint, factory, kwargs)


async def _connect_resolved_here(
    loop: asyncio.AbstractEventLoop, endpoint: Endpoint, factory: Factory, kwargs: dict[str, Any]
) -> None:
    port = endpoint.port
    assert port is not None
    flags = kwargs.pop("flags")
    family = kwargs.pop("family")
    infos = socket.getaddrinfo(
        endpoint.path, port, family=family, type=socket.SOCK_STREAM, flags=flags
    )
    error: OSError | None = None
    for info in infos:
        try:
            await loop.create_connection(factory, str(info[4][0]), port, **kwargs)
            return
        except OSError as exc:
            error = exc
    raise error or OSError(f"{endpoint.path!r} resolved to no address")


async def _connect_unix(
    loop: asyncio.AbstractEventLoop, path: str, options: ConnectOptions
) -> socket.socket:
    """A Unix stream socket connected to ``path``.

    On Linux a non-blocking ``connect()`` to a listening socket whose
    backlog is full fails with EAGAIN; asyncio takes that for "in progress"
    and reports a socket that never connected as connected. Here EAGAIN
    means "wait and try again": with a short, growing, jittered pause, for
    up to ``options.backlog_wait`` seconds (a server busy accepting a storm
    of clients is alive); after that the attempt fails as a refused one
    does, and the caller's retry policy takes over.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        deadline = loop.time() + options.backlog_wait
        pause = 0.001
        while True:
            try:
                sock.connect(path)
                return sock
            except InterruptedError:
                continue
            except BlockingIOError as exc:
                if exc.errno == errno.EINPROGRESS:
                    # not Linux: a connect that completes later
                    await loop.sock_connect(sock, path)
                    return sock
                if loop.time() >= deadline:
                    raise BlockingIOError(
                        errno.EAGAIN,
                        f"the server's listen backlog at {path!r} stayed full "
                        f"for {options.backlog_wait * 1000:g} ms",
                    ) from None
            await asyncio.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 0.064)
            if options.cancelled():
                raise ConnectionAbortedError("disconnected while waiting to connect")
    except BaseException:
        sock.close()
        raise
