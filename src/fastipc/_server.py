"""``ipc.server``: a node-ipc server over a Unix socket, a named pipe, TCP or TLS."""

from __future__ import annotations

import asyncio
import logging
import socket as _socket
import ssl
import sys
from typing import Any

from ._config import Config
from ._constants import OMITTED
from ._paths import path_in_root, prepare_socket_root, unlink_socket, widen_socket_mode
from ._rpc import Answering, Requests
from ._serving import Peer, ServerBase
from ._tls import HANDSHAKE_TIMEOUT, check_network_transport, server_context
from ._transports.endpoint import Endpoint, ListenOptions, Serving, listen
from ._transports.listener import RESOURCE_ERRORS
from ._transports.stream import StreamProtocol
from .errors import (
    AssuredTransportError,
    IPCError,
    IPCNotConnectedError,
    IPCProtocolError,
    SocketRootError,
)

__all__ = ["IPCSocket", "Server"]

logger = logging.getLogger("fastipc")


class IPCSocket(Peer):
    """One client's connection, as server handlers receive it.

    Emit to it with ``socket.emit(type, data)`` (or ``server.emit(socket,
    type, data)``), close it with [`destroy()`][fastipc.IPCSocket.destroy].
    ``id`` is the peer's id when ``identifyPeer`` is on and the peer sent
    one. The server makes one per accepted connection and keeps it in
    [`server.sockets`][fastipc.Server.sockets] while it is open.
    """

    __slots__ = ("_conn",)

    def __init__(self, server: Server, conn: StreamProtocol) -> None:
        super().__init__(server, conn.peer_address(), conn.peer_pid())
        self._server: Server = server
        self._conn = conn

    @property
    def destroyed(self) -> bool:
        """Whether the connection is closed."""
        return self._conn.closed

    @property
    def pendingBytes(self) -> int:
        """Bytes sent to this client that it has not taken yet.

        What fastipc queued and what waits in the transport's write buffer,
        not the kernel's socket buffer: what ``maxPendingBytes`` bounds
        under guarded and assured. ``0`` once the connection is closed.
        """
        return self._conn.pending_bytes

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """What the transport knows about the connection, as asyncio's ``get_extra_info``.

        Args:
            name: a transport key, as for
                [`Client.get_extra_info`][fastipc.Client.get_extra_info]
                (``'peercert'`` here is the client's certificate).
            default: returned for a key the transport does not know.

        Returns:
            The transport's value for ``name`` (asyncio's transports still
            answer after the connection closed), else ``default``.
        """
        return self._conn.get_extra_info(name, default)

    def emit(self, type: Any, data: Any = OMITTED) -> bool:
        """Send an event to this client: ``server.emit(socket, type, data)``.

        See [`Server.emit`][fastipc.Server.emit]; may be called from any
        thread.

        Args:
            type: the event name, or the raw-mode payload (see
                [`Server.emit`][fastipc.Server.emit]).
            data: the event's data; see [`Server.emit`][fastipc.Server.emit].

        Returns:
            ``True`` when the frame was handed on and the client keeps up;
            ``False`` when the connection is closed (an ``error`` event
            says so), or is behind (inside a loop, ``await
            socket.drain()``).

        Raises:
            IPCEncodeError: Raised when the data has no JSON form.
            IPCProtocolError: Raised under guarded/assured when the event
                breaks the profile's rules.
        """
        server = self._server
        if server._plain:
            conn = self._conn
            if not conn.closed:
                return conn.write(server._encode(type, data))  # the hot path
        return server.emit(self, type, data)

    def request(self, type: str, data: Any = OMITTED, *, timeout: float | None = None) -> Any:
        """Ask this client: [`Server.request`][fastipc.Server.request] with this socket."""
        return self._server.request(self, type, data, timeout=timeout)

    def destroy(self) -> None:
        """Close this connection now; the server keeps serving the others."""
        self._server._loop_call(self._conn.close, True)

    async def drain(self) -> None:
        """Wait until this client has taken enough of what was sent to it.

        Returns once the connection is no longer behind: the transport's
        write buffer has drained below its low-water mark (asyncio's
        ``resume_writing``). Returns at once when the connection is not
        behind or is closed; it does not raise. Await it on the event loop
        the server runs on (in a handler's coroutine, or in the coroutine
        that started the server); use it after ``emit`` returned ``False``.
        """
        await self._conn.drain()

    def __repr__(self) -> str:
        where = f"{self.remoteAddress}:{self.remotePort}" if self.remoteAddress else "local"
        state = "closed" if self.destroyed else "open"
        return f"<IPCSocket id={self.id!r} {where} {state}>"


class Server(Answering, ServerBase[IPCSocket]):
    """A node-ipc server: ``start``, ``stop``, ``on``, ``emit``, ``broadcast``.

    Made by ``ipc.serve`` (a Unix socket; a named pipe on Windows) and
    ``ipc.serveNet`` (TCP, or TLS when ``config.tls`` is set). Events:
    ``start`` (listening), ``connect`` (a client connected; handlers get the
    socket), any application event (handlers get ``data, socket``),
    ``data`` in raw mode (``bytes, socket``), ``socket.disconnected``
    (``socket, destroyedSocketID``), ``close`` (``socket``) and ``error``
    (the exception).
    """

    def __init__(self, config: Config, path: str, port: int | None = None, log: Any = None) -> None:
        """Made by ``ipc.serve`` and ``ipc.serveNet``; you do not make one yourself.

        Args:
            config: the ``ipc.config`` to share; its wire settings are
                checked and fixed now.
            path: the socket path, or the host when ``port`` is given.
            port: the TCP port (``0``: any free port); ``None`` for a local
                socket.
            log: where fastipc's diagnostics go (``ipc.log``); ``None`` for
                nowhere.

        Raises:
            IPCConfigError: Raised when the config's wire settings do not
                fit together (for example ``parser='assured'`` without
                ``allowedEvents``).
        """
        super().__init__(config, path, port, log)
        wire = self._wire
        # node-ipc hands maxConnections to its net.Server at start()
        self._max_connections: int | float = config.maxConnections
        # emit may write straight to the connection: not raw, nothing to log or bound
        self._plain = not (wire.raw or wire.log_payloads or wire.pending_limit is not None)
        self._serving: Serving | None = None
        self._sock: _socket.socket | None = None
        self._ssl: ssl.SSLContext | None = None
        self._by_conn: dict[StreamProtocol, IPCSocket] = {}
        self._requests: Requests | None = None  # made by the first request or on_request

    # ------------------------------------------------------------ lifecycle

    @property
    def listening(self) -> bool:
        """Whether the server is accepting connections."""
        return self._serving is not None and self._serving.is_serving()

    def start(self, sock: _socket.socket | None = None) -> None:
        """Start listening; ``start`` handlers run once it does.

        Local socket paths are prepared first as node-ipc does: the socket
        root is created (owner-only with ``secureSocketRoot``) and a stale
        socket is removed when ``unlink`` is on.

        From synchronous code this returns once the server listens and
        raises what stopped it from listening; inside a running event loop it
        returns at once (await [`wait_started()`][fastipc.Server.wait_started]).

        Args:
            sock: a socket that already listens, to serve on instead of
                binding ``path`` or ``host:port``: the pre-fork pattern,
                where a parent binds once and forked workers each serve the
                socket they inherited. The path is then neither prepared,
                unlinked nor removed on [`stop()`][fastipc.Server.stop].

        Raises:
            IPCError: Raised when the server is already started, or has no path.
            SocketRootError: Raised when the socket root is unsafe, or, under
                ``parser='assured'``, the local socket does not sit directly
                inside a secure ``socketRoot``.
            UnlinkNotSocketError: Raised when the path exists and is not a
                socket.
            TLSConfigurationError: Raised when the TLS files or options are wrong.
            AssuredTransportError: Raised under ``parser='assured'`` for a
                network server without ``config.tls``, or a named pipe
                readable or writable by everyone.
            AssuredTLSError: Raised under ``parser='assured'`` without a
                trusted client CA, ``requestCert`` and
                ``rejectUnauthorized``.
            OSError: Raised (synchronous callers) when listening failed.
        """
        super().start(sock)

    def _prepare(self, sock: _socket.socket | None) -> None:
        if not self.path:
            raise IPCError("server path not specified")
        config = self.config
        self._sock = sock
        self._max_connections = config.maxConnections
        network = self.port is not None or (
            sock is not None and sock.family != getattr(_socket, "AF_UNIX", None)
        )
        if self._wire.profile == "assured" and self.port is None and sock is None:
            if not config.secureSocketRoot:
                raise SocketRootError(
                    "the assured parser requires secureSocketRoot=True for local sockets"
                )
            if sys.platform == "win32" and (config.readableAll or config.writableAll):
                raise AssuredTransportError(
                    "the assured parser requires an owner-only named pipe on Windows: "
                    f"readableAll={config.readableAll!r}, writableAll={config.writableAll!r}"
                )
            if not path_in_root(config.socketRoot, self.path):
                raise SocketRootError(
                    f"the assured parser requires the local socket {self.path!r} to sit "
                    f"directly inside socketRoot {config.socketRoot!r}"
                )
        # TLS files are read and checked, and assured's demand for mutual TLS
        # enforced, before anything listens (node-ipc 14 throws from start()).
        self._ssl = None
        if network:
            check_network_transport(config, server=True)
            if config.tls is not False:  # {} means TLS too, as in node-ipc
                self._ssl = server_context(config, self._tls_handshake_failed)
        if sock is None and self.port is None and sys.platform != "win32":
            prepare_socket_root(config.socketRoot, self.path, config.secureSocketRoot)
            if config.unlink:
                unlink_socket(self.path)

    def _endpoint(self) -> Endpoint:
        return Endpoint(self.path, self.port, self._ssl)

    async def _open(self) -> None:
        assert self._handle is not None
        loop = self._handle.loop
        wire = self._wire

        def factory() -> StreamProtocol:
            return wire.connection(self, loop)

        options = ListenOptions(
            backlog=self.config.backlog,
            sock=self._sock,
            handshake_timeout=HANDSHAKE_TIMEOUT,
            readable_all=self.config.readableAll,
            writable_all=self.config.writableAll,
            on_accept_error=self._accept_failed,
            on_accepted=self._accept_recovered,
            on_handshake_error=self._setup_failed,
        )
        serving, port = await listen(loop, self._endpoint(), factory, options)
        self._serving = serving
        if self.port is not None and port is not None:
            self.port = port  # port 0 asked for any free port: report the one it got
        if self._sock is None and self.port is None and sys.platform != "win32":
            widen_socket_mode(self.path, self.config.readableAll, self.config.writableAll)

    def _announce(self) -> None:
        self._log("starting server on", self._where())
        self._dispatch("start", self)

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
            "server on %s cannot accept connections: %s%s",
            self._where(),
            error,
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
                "trust this server's certificate hangs up like this)",
                self._where(),
                error,
            )
        else:
            logger.warning(
                "a client connection to %s failed during set-up: %r", self._where(), error
            )

    def _dispatch_quietly(self, error: BaseException) -> None:
        # an 'error' event for something already logged: no second log line
        # when nobody listens
        if self._handlers.get("error"):
            self._dispatch("error", error)

    def _where(self) -> str:
        return self._endpoint().describe()

    def _tls_handshake_failed(self, error: ssl.SSLError) -> None:
        # The client never connected: no 'connect', no 'error' event (node-ipc
        # emits nothing either); the server carries on. Said in the log only.
        self._log("TLS handshake with a client failed", error)
        logger.warning("refused a TLS client: handshake failed: %s", error)

    async def _shutdown(self) -> None:
        # As node-ipc 14's stop(): every socket is destroyed and emits
        # 'close' (not 'socket.disconnected': the server has let go of it).
        sockets = list(self.sockets)
        self.sockets.clear()
        for sock in sockets:
            sock._conn.close(abort=True)
        if sockets:
            await asyncio.gather(*(sock._conn.wait_closed() for sock in sockets))
        serving, self._serving = self._serving, None
        if serving is not None:
            serving.close()
            await serving.wait_closed()
            if self._sock is None and self.port is None and self.path and sys.platform != "win32":
                try:
                    unlink_socket(self.path)
                except OSError:
                    pass

    # ------------------------------------------------------------ connections

    def _connection_made(self, conn: StreamProtocol) -> None:
        if self._stopped:
            conn.close(abort=True)
            return
        if len(self.sockets) >= self._max_connections:
            self._log("refusing connection: maxConnections", self._max_connections, "reached")
            logger.warning(
                "refused a connection: maxConnections (%s) reached", self._max_connections
            )
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
        if self._wire.log_payloads:
            for name, data in events:
                self._log("received event", name, data)
        self._deliver(events, sock, self._wire.identify)

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
        if self._requests is not None:
            self._requests.fail_all(sock, "the client's connection closed")
        if removed:
            self._dispatch("socket.disconnected", sock, sock.id)
        self._dispatch("close", sock)

    # ------------------------------------------------------------ sending

    def emit(self, socket: IPCSocket, type: Any, data: Any = OMITTED) -> bool:
        """Send one event to one client: ``emit(socket, type, data)``.

        In raw mode send bytes instead: ``emit(socket, payload)``, where a
        ``str`` payload is encoded with ``config.encoding``. May be called
        from any thread; from a thread other than the loop's it blocks while
        the client is behind (not under guarded/assured, where
        ``maxPendingBytes`` applies instead).

        Args:
            socket: the client's [`IPCSocket`][fastipc.IPCSocket], as a
                handler received it or from ``server.sockets``.
            type: the event name; in raw mode, the payload (bytes, a str,
                or a list of ints).
            data: the event's data. Left out, it is sent as ``{}``
                (node-ipc's ``undefined``); ``None`` is sent as ``null``.

        Returns:
            ``True`` when the frame was handed on and the client keeps up.
            ``False`` when the client is closed (an ``error`` event with
            [`IPCNotConnectedError`][fastipc.IPCNotConnectedError] says so),
            when it is behind and the connection is paused (inside a loop,
            ``await socket.drain()``), or when, under guarded/assured, the
            frame would take it past ``maxPendingBytes``: that connection is
            then closed with a
            [`BackpressureError`][fastipc.BackpressureError] ``error`` event.

        Raises:
            IPCEncodeError: Raised when the data has no JSON form.
            IPCProtocolError: Raised under guarded/assured when the event
                breaks the profile's rules.
        """
        if self._plain:
            conn = socket._conn
            if not conn.closed:
                return conn.write(self._encode(type, data))  # the hot path
        frame = self._outgoing(type, data, "dispatching event to socket")
        if socket._conn.closed:
            self._dispatch(
                "error", IPCNotConnectedError(f"cannot emit to {socket!r}: it is closed")
            )
            return False
        return self._write(socket._conn, frame)

    def _write(self, conn: StreamProtocol, frame: bytes) -> bool:
        error = self._wire.overflow(conn, len(frame), "a client")
        if error is not None:
            self._loop_call(self._protocol_failed, conn, error)
            return False
        return conn.write(frame)

    def broadcast(self, type: Any, data: Any = OMITTED) -> bool:
        """Send one event to every connected client; it is encoded once.

        In raw mode: ``broadcast(payload)``. May be called from any thread.

        Args:
            type: the event name, or the raw-mode payload sent to every
                client ([`Server.emit`][fastipc.Server.emit] says which types).
            data: the event's data, encoded once for every client.

        Returns:
            ``True`` when every client keeps up (also when there is none);
            ``False`` when any client is behind, or, under guarded/assured,
            was closed for exceeding ``maxPendingBytes``.

        Raises:
            IPCEncodeError: Raised when the data has no JSON form.
            IPCProtocolError: Raised under guarded/assured when the event
                breaks the profile's rules.
        """
        plain = self._plain  # the hot path: straight to each connection
        frame = (
            self._encode(type, data) if plain else self._outgoing(type, data, "broadcasting event")
        )
        ok = True
        for sock in list(self.sockets):
            conn = sock._conn
            if not conn.closed and not (conn.write(frame) if plain else self._write(conn, frame)):
                ok = False
        return ok

    # ------------------------------------------------------------ requests

    def request(
        self, socket: IPCSocket, type: str, data: Any = OMITTED, *, timeout: float | None = None
    ) -> Any:
        """Ask one client to run its handler for ``type`` and return the answer.

        The server side of [`Client.request`][fastipc.Client.request]:
        awaitable inside a running loop, blocking from plain code; the
        same errors. ``socket.request(type, data)`` is the same call.
        """
        return self._rpc().ask(socket, type, data, timeout)

    def _send_request(self, socket: IPCSocket, type: str, data: Any) -> None:
        if socket.destroyed:
            raise IPCNotConnectedError(f"cannot send {type!r} to {socket!r}: it is closed")
        self.emit(socket, type, data)

    def __repr__(self) -> str:
        return f"<fastipc.Server {self._where()} clients={len(self.sockets)} listening={self.listening}>"
