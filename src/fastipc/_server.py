"""``ipc.server``: a node-ipc server over a Unix socket, TCP, TLS or a named pipe."""

from __future__ import annotations

import asyncio
import logging
import socket as _socket
import ssl
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from ._config import Config, pipe_path
from ._constants import OMITTED
from ._emitter import EventEmitter
from ._loop import LoopHandle, acquire_loop
from ._paths import path_in_root, prepare_socket_root, unlink_socket, widen_socket_mode
from ._tls import HANDSHAKE_TIMEOUT, check_network_transport, server_context
from ._transports.listener import RESOURCE_ERRORS, Listener, bind_tcp, bind_unix
from ._transports.stream import StreamProtocol
from ._transports.winpipe import PipeServer, start_pipe_server
from ._wire import (
    decoder_for,
    encoder_for,
    message_timeout_of,
    pending_limit_of,
    profile_of,
    raw_payload,
)
from .errors import (
    AssuredTransportError,
    BackpressureError,
    IPCError,
    IPCNotConnectedError,
    IPCProtocolError,
    SocketRootError,
)

__all__ = ["IPCSocket", "Server"]

logger = logging.getLogger("fastipc")


class IPCSocket:
    """One client's connection, as server handlers receive it.

    Emit to it with ``socket.emit(type, data)`` (or ``server.emit(socket,
    type, data)``), close it with :meth:`destroy`. ``id`` is the peer's id
    when ``identifyPeer`` is on and the peer sent one.
    """

    __slots__ = (
        "__weakref__",
        "_conn",
        "_server",
        "id",
        "peerPid",
        "remoteAddress",
        "remoteFamily",
        "remotePort",
    )

    def __init__(self, server: Server, conn: StreamProtocol) -> None:
        self._server = server
        self._conn = conn
        self.id: Any = False
        #: The client's process id as the OS reports it (a named pipe's
        #: GetNamedPipeClientProcessId, a Unix socket's SO_PEERCRED), beside
        #: the ``id`` the client claims; ``None`` over TCP, TLS and UDP.
        self.peerPid: int | None = conn.peer_pid()
        peer = conn.peer_address()
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.remoteAddress: str | None = peer[0]
            self.remotePort: int | None = peer[1]
            self.remoteFamily: str | None = "IPv6" if len(peer) == 4 else "IPv4"
        else:
            self.remoteAddress = self.remotePort = self.remoteFamily = None

    @property
    def destroyed(self) -> bool:
        """Whether the connection is closed."""
        return self._conn.closed

    def emit(self, type: Any, data: Any = OMITTED) -> bool:
        """Send an event to this client; see :meth:`Server.emit`."""
        server = self._server
        if server._plain:
            conn = self._conn
            if not conn.closed:
                return conn.write(server._encode(type, data))  # the hot path
        return server.emit(self, type, data)

    def destroy(self) -> None:
        """Close this connection now; the server keeps serving the others."""
        self._server._loop_call(self._conn.close, True)

    async def drain(self) -> None:
        """Wait until this client has taken what was sent to it."""
        await self._conn.drain()

    def __repr__(self) -> str:
        where = f"{self.remoteAddress}:{self.remotePort}" if self.remoteAddress else "local"
        state = "closed" if self.destroyed else "open"
        return f"<IPCSocket id={self.id!r} {where} {state}>"


class Server(EventEmitter):
    """A node-ipc server: ``start``, ``stop``, ``on``, ``emit``, ``broadcast``.

    Events: ``start`` (listening), ``connect`` (a client connected; handlers
    get the socket), any application event (handlers get ``data, socket``),
    ``data`` in raw mode (``bytes, socket``), ``socket.disconnected``
    (``socket, destroyedSocketID``), ``close`` (``socket``) and ``error``
    (the exception).
    """

    def __init__(
        self,
        config: Config,
        path: str | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        log: Any = None,
    ) -> None:
        super().__init__()
        #: The ``ipc.config`` this server shares with its ``IPC``: as in
        #: node-ipc, ``start()`` reads the keys about listening
        #: (``maxConnections``, ``tls``, ``unlink``, ``socketRoot``, ...)
        #: when it runs. The wire settings (parser, delimiter, limits,
        #: encoding, identifyPeer, logPayloads) are fixed when the server is
        #: made, as node-ipc makes its parser then.
        self.config = config
        self._settings = config.copy()
        settings = self._settings
        self.path: str = (path if port is None else host) or ""
        self.port = port
        self.sockets: list[IPCSocket] = []
        self.server: Listener | PipeServer | asyncio.AbstractServer | None = None
        self._log = log or (lambda *args: None)
        self._profile = profile_of(settings)
        self._raw = self._profile == "raw"
        self._encoder = encoder_for(settings)
        self._encode = self._encoder.encode
        self._identify = bool(settings.identifyPeer)
        self._log_payloads = bool(settings.logPayloads)
        self._message_timeout = message_timeout_of(settings)
        self._pending_limit = pending_limit_of(settings)
        # node-ipc hands maxConnections to its net.Server at start()
        self._max_connections: int | float = config.maxConnections
        # emit may write straight to the connection: not raw, nothing to log or bound
        self._plain = not (self._raw or self._log_payloads or self._pending_limit is not None)
        self._handle: LoopHandle | None = None
        self._sock: _socket.socket | None = None
        self._by_conn: dict[StreamProtocol, IPCSocket] = {}
        self._started: asyncio.Future[None] | None = None
        self._stopped = False
        decoder_for(settings)  # check the profile's settings now, not on first connection

    # ------------------------------------------------------------ lifecycle

    @property
    def listening(self) -> bool:
        """Whether the server is accepting connections."""
        return self.server is not None and self.server.is_serving()

    def start(self, sock: _socket.socket | None = None) -> None:
        """Start listening; ``start`` handlers run once it does.

        Local socket paths are prepared first as node-ipc does: the socket
        root is created (owner-only with ``secureSocketRoot``) and a stale
        socket is removed when ``unlink`` is on.

        From synchronous code this returns once the server listens and
        raises what stopped it from listening; inside a running event loop it
        returns at once (await :meth:`wait_started`).

        Args:
            sock: a socket that already listens, to serve on instead of
                binding ``path`` or ``host:port``: the pre-fork pattern,
                where a parent binds once and forked workers each serve the
                socket they inherited. The path is then neither prepared,
                unlinked nor removed on :meth:`stop`.

        Raises:
            SocketRootError: Raised when the socket root is unsafe.
            UnlinkNotSocketError: Raised when the path exists and is not a
                socket.
            OSError: Raised (synchronous callers) when listening failed.
        """
        if self._handle is not None:
            raise IPCError("server already started; stop() it first")
        if not self.path:
            raise IPCError("server path not specified")
        self._sock = sock
        self._max_connections = self.config.maxConnections
        if self._profile == "assured" and self.port is None and sock is None:
            if not self.config.secureSocketRoot:
                raise SocketRootError(
                    "the assured parser requires secureSocketRoot=True for local sockets"
                )
            if sys.platform == "win32" and (self.config.readableAll or self.config.writableAll):
                raise AssuredTransportError(
                    "the assured parser requires an owner-only named pipe on Windows: "
                    f"readableAll={self.config.readableAll!r}, writableAll={self.config.writableAll!r}"
                )
            if not path_in_root(self.config.socketRoot, self.path):
                raise SocketRootError(
                    f"the assured parser requires the local socket {self.path!r} to sit "
                    f"directly inside socketRoot {self.config.socketRoot!r}"
                )
        # TLS files are read and checked, and assured's demand for mutual TLS
        # enforced, before anything listens (node-ipc 14 throws from start()).
        self._ssl: ssl.SSLContext | None = None
        if self.port is not None or (sock is not None and sock.family != getattr(_socket, "AF_UNIX", None)):
            check_network_transport(self.config, server=True)
            if self.config.tls is not False:  # {} means TLS too, as in node-ipc
                self._ssl = server_context(self.config, self._tls_handshake_failed)
        if sock is None and self.port is None and sys.platform != "win32":
            prepare_socket_root(self.config.socketRoot, self.path, self.config.secureSocketRoot)
            if self.config.unlink:
                unlink_socket(self.path)
        self._launch(self._listen)

    def _launch(self, listen: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``listen()`` on the loop; from synchronous code, wait for it and
        raise what stopped it."""
        handle = acquire_loop()
        self._handle = handle
        self._stopped = False
        future = handle.submit(listen())
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

    async def _listen(self) -> None:
        assert self._handle is not None
        loop = self._handle.loop
        self._started = loop.create_future()
        factory = self._protocol_factory(loop)
        backlog = self.config.backlog
        try:
            if sys.platform == "win32" and self.port is not None:
                # The Proactor loop has no add_reader for fastipc's own
                # accept loop: asyncio's server accepts there.
                tls = {} if self._ssl is None else {"ssl": self._ssl, "ssl_handshake_timeout": HANDSHAKE_TIMEOUT}
                self.server = await loop.create_server(factory, self.path, self.port, backlog=backlog, **tls)
                self.port = self.server.sockets[0].getsockname()[1]
            elif self._sock is not None:
                # pre-fork: a socket that already listens, TCP or Unix
                self._sock.setblocking(False)
                self.server = self._listener(loop, [self._sock], factory, backlog)
            elif self.port is None:
                if sys.platform == "win32":
                    # node-ipc's pipe name for the path, an owner-only DACL
                    # widened by readableAll/writableAll
                    self.server = await start_pipe_server(
                        loop,
                        factory,
                        pipe_path(self.path),
                        readable_all=self.config.readableAll,
                        writable_all=self.config.writableAll,
                    )
                else:
                    self.server = self._listener(loop, [bind_unix(self.path, backlog)], factory, backlog)
                    widen_socket_mode(self.path, self.config.readableAll, self.config.writableAll)
            else:
                sockets = await bind_tcp(loop, self.path, self.port, backlog)
                self.server = self._listener(loop, sockets, factory, backlog)
                # port 0 asked for any free port: report the one it got
                self.port = sockets[0].getsockname()[1]
        except Exception as exc:
            self._log("server error", exc)
            self._started.set_exception(exc)
            self._started.exception()  # retrieved: wait_started() re-raises
            self._dispatch("error", exc)
            raise
        self._started.set_result(None)
        where = pipe_path(self.path) if sys.platform == "win32" and self.port is None else self.path
        self._log("starting server on", where, f":{self.port}" if self.port else "")
        self._dispatch("start", self)

    def _listener(
        self,
        loop: asyncio.AbstractEventLoop,
        sockets: list[_socket.socket],
        factory: Any,
        backlog: int,
    ) -> Listener:
        return Listener(
            loop,
            sockets,
            factory,
            backlog=backlog,
            ssl_context=self._ssl,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT if self._ssl is not None else None,
            on_accept_error=self._accept_failed,
            on_accepted=self._accept_recovered,
            on_handshake_error=self._setup_failed,
        )

    def _accept_failed(self, error: OSError, again: bool) -> None:
        # accept() failed: out of file descriptors (EMFILE) or another
        # resource; the listener pauses and tries again by itself, the
        # clients already connected are untouched. Said once per episode at
        # WARNING (and as an 'error' event), then at DEBUG until it accepts.
        if again:
            logger.debug("accept() on %s failed again: %r", self._where(), error)
            return
        self._log("server error", error)
        resource = error.errno in RESOURCE_ERRORS
        logger.warning(
            "server on %s cannot accept connections: %s%s", self._where(), error,
            "; accepting pauses and resumes once resources are free" if resource else "",
        )
        self._dispatch_quietly(error)

    def _accept_recovered(self) -> None:
        logger.info("server on %s accepts connections again", self._where())

    def _setup_failed(self, error: BaseException) -> None:
        # A connection that never got as far as 'connect' (its TLS
        # handshake failed, or it hung up during it): no event, as in
        # node-ipc; the server carries on. TLS errors were reported by the
        # context's hook (_tls_handshake_failed); the rest are said here.
        if isinstance(error, ssl.SSLError):
            return
        self._log("a connection failed before it was set up", error)
        if self._ssl is not None:
            logger.warning(
                "refused a TLS client on %s: handshake failed: %r (a client that does not "
                "trust this server's certificate hangs up like this)", self._where(), error,
            )
        else:
            logger.warning("a client connection to %s failed during set-up: %r", self._where(), error)

    def _dispatch_quietly(self, error: BaseException) -> None:
        # an 'error' event for something already logged: no second log line
        # when nobody listens
        if self._handlers.get("error"):
            self._dispatch("error", error)

    def _where(self) -> str:
        return self.path if self.port is None else f"{self.path}:{self.port}"

    def _tls_handshake_failed(self, error: ssl.SSLError) -> None:
        # The client never connected: no 'connect', no 'error' event (node-ipc
        # emits nothing either); the server carries on. Said in the log only.
        self._log("TLS handshake with a client failed", error)
        logger.warning("refused a TLS client: handshake failed: %s", error)

    def _protocol_factory(self, loop: asyncio.AbstractEventLoop) -> Any:
        settings = self._settings

        def factory() -> StreamProtocol:
            return StreamProtocol(self, decoder_for(settings), loop)

        return factory

    async def wait_started(self) -> None:
        """Wait until the server listens; raise what stopped it from listening."""
        if self._handle is None:
            raise IPCError("server not started: call start() first")
        await self._handle.awaitable(self._wait_started())

    async def _wait_started(self) -> None:
        while self._started is None:
            await asyncio.sleep(0)
        await asyncio.shield(self._started)

    def stop(self) -> None:
        """Close every connection and stop listening.

        From synchronous code this returns once everything is closed, and the
        background loop thread is released; inside a running loop it returns
        at once (await :meth:`wait_closed`).
        """
        handle = self._handle
        if handle is None or self._stopped:
            return
        self._stopped = True
        future = handle.submit(self._close())
        if handle.background and not handle.in_loop_thread():
            future.result()
        else:
            # nobody waits on it here: what goes wrong is an 'error' event
            future.add_done_callback(self._closing_done)

    def _closing_done(self, future: Any) -> None:
        if not future.cancelled() and future.exception() is not None:
            self._dispatch("error", future.exception())

    async def _close(self) -> None:
        # As node-ipc 14's stop(): every socket is destroyed and emits
        # 'close' (not 'socket.disconnected': the server has let go of it).
        sockets = list(self.sockets)
        self.sockets.clear()
        for sock in sockets:
            sock._conn.close(abort=True)
        if sockets:
            await asyncio.gather(*(sock._conn.wait_closed() for sock in sockets))
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            if self._sock is None and self.port is None and self.path and sys.platform != "win32":
                try:
                    unlink_socket(self.path)
                except OSError:
                    pass
        self.server = None
        self._release()

    async def wait_closed(self) -> None:
        """Wait until :meth:`stop` has closed everything."""
        while self._handle is not None:
            await asyncio.sleep(0.005)

    def _release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.release()

    # ------------------------------------------------------------ connections

    def _connection_made(self, conn: StreamProtocol) -> None:
        if self._stopped:
            conn.close(abort=True)
            return
        if len(self.sockets) >= self._max_connections:
            self._log("refusing connection: maxConnections", self._max_connections, "reached")
            logger.warning("refused a connection: maxConnections (%s) reached", self._max_connections)
            conn.close(abort=True)
            return
        sock = IPCSocket(self, conn)
        self.sockets.append(sock)
        self._by_conn[conn] = sock
        self._dispatch("connect", sock)

    def _events_received(self, conn: StreamProtocol, events: list[tuple[str, Any]]) -> None:
        sock = self._by_conn.get(conn)
        if sock is None:
            return
        if self._log_payloads:
            for name, data in events:
                self._log("received event", name, data)
        # The per-message path: the emitter's dispatch, inlined.
        handlers = self._handlers
        identify = self._identify
        for name, data in events:
            if identify and type(data) is dict and data.get("id"):
                sock.id = data["id"]
            todo = handlers.get(name)
            if todo is None:
                if name == "error":
                    self._dispatch(name, data, sock)
                continue
            for handler in todo:
                try:
                    handler(data, sock)
                except Exception as exc:
                    self._handler_failed(name, handler, exc)

    def _protocol_failed(self, conn: StreamProtocol, error: IPCProtocolError) -> None:
        if conn.closed or conn.failed or conn not in self._by_conn:
            return
        conn.failed = True
        self._log("IPC protocol error", error.code, str(error))
        logger.warning("closing a connection: %s: %s", error.code, error)
        conn.close(abort=True)
        self._dispatch("error", error)

    def _connection_lost(self, conn: StreamProtocol, exc: BaseException | None) -> None:
        sock = self._by_conn.pop(conn, None)
        if sock is None:
            return
        try:
            self.sockets.remove(sock)
            removed = True
        except ValueError:
            removed = False  # stop() let go of it first
        if exc is not None:
            self._log("server socket error", exc)
        # node-ipc 14's order: 'socket.disconnected' (when the server still
        # held the socket), then 'close'
        if removed:
            self._dispatch("socket.disconnected", sock, sock.id)
        self._dispatch("close", sock)

    # ------------------------------------------------------------ sending

    def _loop_call(self, fn: Any, *args: Any) -> None:
        handle = self._handle
        if handle is not None:
            handle.call(fn, *args)

    def emit(self, socket: IPCSocket, type: Any, data: Any = OMITTED) -> bool:
        """Send one event to one client: ``emit(socket, type, data)``.

        In raw mode send bytes instead: ``emit(socket, payload)``, where a
        ``str`` payload is encoded with ``config.encoding``.

        Returns:
            ``False`` when the client is closed, or is behind and the
            connection is paused (inside a loop, ``await socket.drain()``).

        Raises:
            IPCEncodeError: Raised when the data has no JSON form.
            IPCProtocolError: Raised under guarded/assured when the event
                breaks the profile's rules.
        """
        if self._plain:
            conn = socket._conn
            if not conn.closed:
                return conn.write(self._encode(type, data))  # the hot path
        if self._raw:
            frame = raw_payload(self._settings, type)
        else:
            frame = self._encode(type, data)
        if self._log_payloads:
            self._log("dispatching event to socket", "<raw-buffer>" if self._raw else type, data)
        if socket._conn.closed:
            self._dispatch("error", IPCNotConnectedError(f"cannot emit to {socket!r}: it is closed"))
            return False
        return self._write(socket._conn, frame)

    def _write(self, conn: StreamProtocol, frame: bytes) -> bool:
        limit = self._pending_limit
        if limit is not None and conn.pending_bytes + len(frame) > limit:
            # guarded/assured: a peer that does not read loses its connection
            # rather than make the server buffer without bound
            error = BackpressureError(
                f"{conn.pending_bytes + len(frame)} bytes would wait for a client that is "
                f"not reading; maxPendingBytes is {limit:g}"
            )
            self._loop_call(self._protocol_failed, conn, error)
            return False
        return conn.write(frame)

    def broadcast(self, type: Any, data: Any = OMITTED) -> bool:
        """Send one event to every connected client; it is encoded once.

        In raw mode: ``broadcast(payload)``.

        Returns:
            ``False`` when any client is behind.
        """
        frame = raw_payload(self._settings, type) if self._raw else self._encode(type, data)
        if self._log_payloads:
            self._log("broadcasting event", "<raw-buffer>" if self._raw else type, data)
        ok = True
        for sock in list(self.sockets):
            if not sock._conn.closed and not self._write(sock._conn, frame):
                ok = False
        return ok

    def __repr__(self) -> str:
        return f"<fastipc.Server {self._where()} clients={len(self.sockets)} listening={self.listening}>"


def _retrieve(future: Any) -> None:
    if not future.cancelled():
        future.exception()
