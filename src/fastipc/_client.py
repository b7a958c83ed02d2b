"""``ipc.of[id]``: a node-ipc client with node-ipc 14's lifecycle."""

from __future__ import annotations

import asyncio
import logging
import math
import socket as _socket
import ssl
import threading
from collections import deque
from typing import Any

from ._config import Config
from ._constants import OMITTED
from ._loop import LoopHandle, acquire_loop
from ._rpc import Answering, Requests
from ._tls import HANDSHAKE_TIMEOUT, check_network_transport, client_context, server_name
from ._transports.endpoint import ConnectOptions, Endpoint, connect
from ._transports.stream import StreamProtocol
from ._wire import Wire
from .errors import BackpressureError, IPCError, IPCNotConnectedError, IPCProtocolError

__all__ = ["Client"]

logger = logging.getLogger("fastipc")

#: How long (ms, at least) one connection attempt waits for room in a Unix
#: socket server's full listen backlog before it counts as failed.
BACKLOG_WAIT_MS = 2000.0


class Client(Answering):
    """A connection to one node-ipc server, kept as ``ipc.of[id]``.

    Events: ``connect``, ``disconnect``, ``destroy``, ``error`` (the
    exception), ``data`` in raw mode (``bytes``), and any application event
    (handlers get ``data``).

    The lifecycle is node-ipc 14's: after a connection closes (or fails) the
    client retries after ``retry`` ms while ``maxRetries`` allows; each
    ``connect`` re-arms the budget; ``stopRetrying`` stops at once; when no
    retry remains it emits ``disconnect`` then ``destroy``.
    """

    def __init__(
        self,
        config: Config,
        id: str,
        path: str,
        port: int | None = None,
        log: Any = None,
    ) -> None:
        """Made by ``ipc.connectTo`` and ``ipc.connectToNet``; you do not make one yourself.

        Args:
            config: the ``ipc.config`` to share; its wire settings are
                checked and fixed now.
            id: the server's id, the key in ``ipc.of``.
            path: the socket path, or the host when ``port`` is given.
            port: the server's TCP port; ``None`` for a local socket.
            log: ``ipc.log``, or ``None`` to log nothing.

        Raises:
            IPCConfigError: Raised when the config's wire settings do not
                fit together, as [`Server`][fastipc.Server] checks them.
        """
        super().__init__()
        #: The ``ipc.config`` this client shares with its ``IPC``: as in
        #: node-ipc, ``retry``, ``maxRetries``, ``stopRetrying``, ``tls`` and
        #: ``interface`` are read when they are needed, so setting them at
        #: run time takes effect. The wire settings (parser, delimiter,
        #: limits, encoding, sync, logPayloads) are fixed when the client is
        #: made, as node-ipc makes its parser then.
        self.config = config
        self._wire = wire = Wire(config)
        #: The server's id: this client's key in ``ipc.of``.
        self.id = id
        #: The socket path, or the host of a network server.
        self.path = path
        #: The server's TCP port; ``None`` for a local socket.
        self.port = port
        self._log = log or (lambda *args: None)
        self._raw = wire.raw
        self._encode = wire.encode  # the hot path's encoder
        # sync: one message in flight; the next waits for any answer
        self._sync = bool(wire.settings.sync)
        self._sync_queue: deque[bytes] = deque()
        self._sync_busy = False
        # emit may write straight to the connection: nothing to log, queue or bound
        self._plain = not (wire.log_payloads or self._sync or wire.pending_limit is not None)
        max_retries = config.maxRetries
        #: Reconnection attempts left, node-ipc's counter: ``maxRetries``
        #: at first and again on every ``connect``, one less for each
        #: attempt after a close. At ``0`` the next close is final.
        self.retriesRemaining: int | float = max_retries if max_retries else 0
        #: ``True`` once ``ipc.disconnect(id)`` was called for this client
        #: (node-ipc's flag): no retry follows, and ``emit`` raises
        #: [`IPCNotConnectedError`][fastipc.IPCNotConnectedError].
        self.explicitlyDisconnected = False
        self._ending = False  # end() was called: no retry follows the close
        self._requests: Requests | None = None  # made by the first request or on_request
        #: ``True`` once the server sent bytes that broke the protocol: the
        #: connection was closed with an ``error`` event (an
        #: [`IPCProtocolError`][fastipc.IPCProtocolError]) and no retry
        #: follows, as in node-ipc 14.
        self.protocolViolation = False
        #: ``True`` once the client is finished: no retry remained, or
        #: ``end()``, ``ipc.disconnect(id)``, ``stopRetrying`` or a protocol
        #: error ended it. ``emit`` then raises
        #: [`IPCNotConnectedError`][fastipc.IPCNotConnectedError].
        self.destroyed = False
        self._handle: LoopHandle | None = None
        self._ssl: ssl.SSLContext | None = None
        self._conn: StreamProtocol | None = None
        self._connecting = False
        self._retry_timer: asyncio.TimerHandle | None = None
        # Frames emitted before the connection is up (or between connections),
        # sent in order once it is; any thread may add to them, hence the lock.
        self._backlog: list[bytes] = []
        self._backlog_bytes = 0
        self._backlog_lock = threading.Lock()
        # An outage is logged once at WARNING, then at DEBUG until connected.
        self._outage_logged = False
        self._connected_waiters: list[asyncio.Future[None]] = []
        self._closed_waiters: list[asyncio.Future[None]] = []

    # ------------------------------------------------------------ state

    @property
    def connected(self) -> bool:
        """Whether the connection is up."""
        return self._conn is not None and not self._conn.closed

    @property
    def pendingBytes(self) -> int:
        """Bytes emitted that the server has not taken yet.

        The frames held while connecting (or retrying), plus, while
        connected, what fastipc queued and what waits in the transport's
        write buffer; not the kernel's socket buffer.
        """
        conn = self._conn
        held = self._backlog_bytes
        return held if conn is None or conn.closed else held + conn.pending_bytes

    @property
    def peerPid(self) -> int | None:
        """The server's process id as the OS reports it.

        Known over a Unix socket (``SO_PEERCRED``, Linux) or a named pipe;
        ``None`` over TCP and TLS, on an OS that does not tell, and while
        not connected.
        """
        conn = self._conn
        return None if conn is None or conn.closed else conn.peer_pid()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """What the transport knows about the latest connection, as asyncio's ``get_extra_info``.

        A closed connection still answers (as asyncio's transports do), so a
        handler of ``disconnect`` can see what the connection was.

        Args:
            name: the key: ``'peername'``, ``'sockname'``, ``'socket'``,
                and over TLS ``'peercert'``, ``'cipher'``,
                ``'ssl_object'``; any key the asyncio transport knows.
            default: what to return when the transport does not know
                ``name``.

        Returns:
            The latest connection's value for ``name``; ``default`` when
            it does not know it, or before the first connection.
        """
        conn = self._conn
        if conn is None:
            return default
        return conn.get_extra_info(name, default)

    # ------------------------------------------------------------ connecting

    def _start(self) -> None:
        """Begin connecting (called by ``connectTo`` after its callback)."""
        if self.port is not None and self._handle is None:
            # TLS files are read and checked, and assured's demand for mutual
            # TLS enforced, before anything connects (node-ipc 14 throws from
            # connectToNet); a client that cannot connect is destroyed.
            try:
                check_network_transport(self.config, server=False)
                # as in node-ipc, any tls value but False (even {}) means TLS
                self._ssl = client_context(self.config) if self.config.tls is not False else None
            except IPCError:
                self.destroyed = True
                raise
        if self._handle is None:
            self._handle = acquire_loop()
        self._handle.call(self._connect)

    def _connect(self) -> None:
        if self.destroyed or self.explicitlyDisconnected or self._connecting or self.connected:
            return
        assert self._handle is not None
        self._connecting = True
        self._handle.loop.create_task(self._open())

    async def _open(self) -> None:
        assert self._handle is not None
        loop = self._handle.loop
        conn = self._wire.connection(self, loop)
        endpoint = Endpoint(self.path, self.port, self._ssl)
        self._log(f"connecting client via {endpoint.kind}", endpoint.describe())
        try:
            await connect(loop, endpoint, lambda: conn, self._connect_options())
        except Exception as exc:
            # an OSError (refused, no such socket, TLS) or anything else that
            # stopped this attempt: reported, then the retry policy decides
            self._connecting = False
            if self.explicitlyDisconnected:
                return
            self._log("client socket error", exc)
            self._report(exc)
            self._closed()
        except BaseException:
            self._connecting = False
            raise

    def _connect_options(self) -> ConnectOptions:
        """The config keys read at each attempt, as ``connect`` takes them."""
        options = ConnectOptions(
            handshake_timeout=HANDSHAKE_TIMEOUT,
            # a Unix server's full backlog is waited out for up to
            # ``retry`` ms (at least BACKLOG_WAIT_MS: a server busy
            # accepting a storm of clients is alive)
            backlog_wait=max(float(self.config.retry), BACKLOG_WAIT_MS) / 1000,
            cancelled=lambda: self.explicitlyDisconnected,
        )
        if self.port is None:
            return options
        if self._ssl is not None:
            options.server_hostname = server_name(self.config, str(self.path))
        source = self.config.interface
        family = source.get("family")
        options.family = {4: _socket.AF_INET, 6: _socket.AF_INET6}.get(family, 0)
        options.flags = source.get("hints") or 0
        local_address = source.get("localAddress") or None
        local_port = source.get("localPort") or 0
        if local_address is not None or local_port:
            options.local_addr = (local_address or ("::" if family == 6 else "0.0.0.0"), local_port)
        return options

    def _report(self, error: BaseException) -> None:
        """Deliver a connection error: to the ``error`` handlers, or, when
        there are none, to the ``fastipc`` logger, once per outage at
        WARNING and then at DEBUG (a client retrying against a server that
        is down fails every ``retry`` ms)."""
        if self._handlers.get("error"):
            self._dispatch("error", error)
            return
        if not self._outage_logged:
            self._outage_logged = True
            if self.config.stopRetrying or self.retriesRemaining < 1 or self.protocolViolation:
                then = "no retry follows"
            else:
                then = (
                    f"retrying every {self.config.retry:g} ms (further failures are "
                    "logged at DEBUG until it connects)"
                )
            logger.warning(
                "client %r: connection to %s failed: %r; %s", self.id, self._where(), error, then
            )
        else:
            logger.debug(
                "client %r: connection to %s failed again: %r", self.id, self._where(), error
            )

    def _where(self) -> str:
        return self.path if self.port is None else f"{self.path}:{self.port}"

    def _connection_made(self, conn: StreamProtocol) -> None:
        self._connecting = False
        if self.explicitlyDisconnected:
            conn.close(abort=True)
            return
        self.retriesRemaining = self.config.maxRetries
        self._outage_logged = False
        with self._backlog_lock:
            # under the lock: an emit from another thread either lands in
            # the backlog taken here or sees the connection and writes after it
            self._conn = conn
            backlog, self._backlog = self._backlog, []
            self._backlog_bytes = 0
            for frame in backlog:
                conn.write(frame)
        if self._ending:
            conn.end()  # end() came while connecting: what it held is sent first
        waiters, self._connected_waiters = self._connected_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._dispatch("connect")

    def _events_received(self, conn: StreamProtocol, events: list[tuple[str, Any]]) -> None:
        if conn is not self._conn:
            return
        if self._wire.log_payloads:
            for name, data in events:
                self._log("received event", name, data)
        if self._sync:
            # one message in flight: any answer lets the next one go
            for event in events:
                self._deliver([event])
                self._sync_next()
            return
        self._deliver(events)

    def _protocol_failed(self, conn: StreamProtocol, error: IPCProtocolError) -> None:
        if conn.closed or conn.failed:
            return
        conn.failed = True
        self.protocolViolation = True
        self._log("IPC protocol error", error.code, str(error))
        logger.warning("closing the connection to %r: %s: %s", self.id, error.code, error)
        conn.close(abort=True)
        self._dispatch("error", error)

    def _connection_lost(self, conn: StreamProtocol, exc: BaseException | None) -> None:
        if conn is not self._conn:
            return
        self._log("connection closed", self.id, self.path)
        if exc is not None and not self.explicitlyDisconnected:
            self._report(exc)
        if self._requests is not None:
            self._requests.fail_all(None, f"the connection to {self.id!r} closed")
        self._closed()

    def _closed(self) -> None:
        """node-ipc 14's rule for what follows a closed or failed connection."""
        assert self._handle is not None
        if (
            self.config.stopRetrying
            or self.retriesRemaining < 1
            or self.explicitlyDisconnected
            or self.protocolViolation
            or self._ending
        ):
            self._dispatch("disconnect")
            self._destroy()
            return

        def retry() -> None:
            self._retry_timer = None
            if self.explicitlyDisconnected:
                return
            if self.config.stopRetrying:
                self._destroy()
                return
            self.retriesRemaining -= 1
            self._connect()

        self._retry_timer = self._handle.loop.call_later(self.config.retry / 1000, retry)
        self._dispatch("disconnect")

    def _destroy(self) -> None:
        if self.destroyed:
            return
        self.destroyed = True
        if self._requests is not None:
            self._requests.fail_all(None, f"the client {self.id!r} was destroyed")
        with self._backlog_lock:
            self._backlog.clear()
            self._backlog_bytes = 0
        waiters, self._connected_waiters = self._connected_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(
                    IPCNotConnectedError(f"connection to {self.id!r} was destroyed")
                )
                waiter.exception()
        self._dispatch("destroy")
        closed, self._closed_waiters = self._closed_waiters, []
        for waiter in closed:
            if not waiter.done():
                waiter.set_result(None)
        self._release()

    def _release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.release()

    def _disconnect(self) -> None:
        """``ipc.disconnect(id)``: final; no retry follows.

        As node-ipc (14 and 9.2.1) does, the client's handlers are removed
        first: a disconnect you asked for fires no ``disconnect`` or
        ``destroy`` of its own.
        """
        self._handlers.clear()
        self.explicitlyDisconnected = True
        handle = self._handle
        if handle is None:
            return
        handle.call(self._disconnect_on_loop)

    def _disconnect_on_loop(self) -> None:
        waiting_to_retry = self._retry_timer is not None
        if waiting_to_retry:
            assert self._retry_timer is not None
            self._retry_timer.cancel()
            self._retry_timer = None
        conn = self._conn
        if conn is not None and not conn.closed:
            conn.close()  # 'disconnect' then 'destroy' follow from its close
        elif not self.destroyed:
            # Not connected. Between retries 'disconnect' was already
            # emitted for the attempt that failed: only 'destroy' is left.
            # While an attempt is under way, that attempt ends here.
            if not waiting_to_retry:
                self._dispatch("disconnect")
            self._destroy()

    def end(self) -> None:
        """Finish gracefully: send what was emitted, then end-of-file.

        Node's ``socket.end()``: the server reads everything sent, then
        closes its side, and the client emits ``disconnect`` and
        ``destroy`` with no retry. Called while connecting, it ends the
        connection once it is up, after the events held for it; called
        while waiting to retry, it destroys the client at once. It returns
        at once: await [`wait_closed()`][fastipc.Client.wait_closed] for
        the end. Over TLS and named pipes, which cannot half-close, the
        connection closes after the queued writes. Compare
        [`IPC.disconnect`][fastipc.IPC.disconnect], which closes at once
        and drops the client's handlers first.
        """
        self._ending = True
        handle = self._handle
        if handle is not None:
            handle.call(self._end_on_loop)

    def _end_on_loop(self) -> None:
        conn = self._conn
        if conn is not None and not conn.closed:
            conn.end()
        elif self._retry_timer is not None:
            # between attempts: nothing to finish, so no attempt follows
            self._retry_timer.cancel()
            self._retry_timer = None
            self._destroy()

    # ------------------------------------------------------------ requests

    def request(self, type: str, data: Any = OMITTED, *, timeout: float | None = None) -> Any:
        """Ask the server to run its handler for ``type`` and return the answer.

        Inside a running event loop this returns an awaitable (``await
        client.request(...)``); from plain code it blocks until the answer
        comes. Many requests may be in flight; each is matched to its
        answer by id. A request made while the client is connecting is
        held, like an emit, and sent once it connects. See the
        request/reply guide for the wire form a Node peer uses.

        Args:
            type: the request's name, which the server's
                [`on_request`][fastipc.Server.on_request] handler is
                registered for.
            data: the request's data (any JSON value); left out, none.
            timeout: seconds to wait for the answer; ``None`` waits until
                it comes or the connection closes.

        Returns:
            The handler's return value (awaitable inside a loop).

        Raises:
            RemoteError: Raised when the server's handler raised, or it has
                none for ``type``.
            RequestTimeoutError: Raised when ``timeout`` passed first.
            IPCNotConnectedError: Raised when the connection closed (or the
                client was disconnected) before the answer came.
        """
        return self._rpc().ask(None, type, data, timeout)

    def _send_request(self, peer: Any, type: str, data: Any) -> None:
        self.emit(type, data)

    # ------------------------------------------------------------ sending

    def emit(self, type: Any, data: Any = OMITTED) -> bool:
        """Send one event to the server: ``emit(type, data)``.

        In raw mode send bytes instead: ``emit(payload)``. Events emitted
        before the connection is up (or while it is retrying) are sent, in
        order, once it is; at most ``maxPendingBytes`` of them are held.
        With ``sync``, each event waits until the server answered the one
        before. May be called from any thread; from a thread other than the
        loop's it blocks while the connection is behind (not under
        guarded/assured, where ``maxPendingBytes`` applies instead).

        Args:
            type: the event name, or the raw-mode payload, as for
                [`Server.emit`][fastipc.Server.emit].
            data: the event's data, as for [`Server.emit`][fastipc.Server.emit].

        Returns:
            ``True`` when the frame was sent, held for the connection or
            queued under ``sync``. ``False`` when the connection is behind
            (inside a loop, await [`drain()`][fastipc.Client.drain]), or,
            under guarded/assured, when the frame would take it past
            ``maxPendingBytes``: the connection is then closed with a
            [`BackpressureError`][fastipc.BackpressureError] ``error``
            event.

        Raises:
            IPCNotConnectedError: Raised when the client was destroyed or
                disconnected.
            BackpressureError: Raised when more than ``maxPendingBytes``
                would wait for the connection.
            IPCEncodeError: Raised when the data has no JSON form.
        """
        if self._raw:
            frame = self._wire.frame(type, data)
        else:
            frame = self._encode(type, data)
            conn = self._conn
            if self._plain and conn is not None and not conn.closed:
                return conn.write(frame)  # the hot path: connected, no extras
        if self._wire.log_payloads:
            self._log(
                "dispatching event to",
                self.id,
                self.path,
                ":",
                "<raw-buffer>" if self._raw else type,
                data,
            )
        if self.destroyed or self.explicitlyDisconnected:
            raise IPCNotConnectedError(f"cannot emit to {self.id!r}: the client is disconnected")
        handle = self._handle
        if self._sync:
            # the queue lives on the loop thread, where answers arrive
            if handle is not None and not handle.in_loop_thread():
                handle.call(self._sync_send_soon, frame)
                return True
            return self._sync_send(frame)
        return self._emit_later(frame)

    def _write(self, conn: StreamProtocol, frame: bytes) -> bool:
        error = self._wire.overflow(conn, len(frame), repr(self.id))
        if error is not None:
            if self._handle is not None:
                self._handle.call(self._protocol_failed, conn, error)
            return False
        return conn.write(frame)

    def _sync_send(self, frame: bytes) -> bool:
        if self._sync_busy:
            self._sync_queue.append(frame)
            return True
        self._sync_busy = True
        try:
            return self._emit_later(frame)
        except BaseException:
            self._sync_busy = False  # nothing is in flight after all
            raise

    def _sync_send_soon(self, frame: bytes) -> None:
        # a loop callback for an emit made on another thread: what fails
        # here has no caller left to raise to, so it is an 'error' event
        try:
            self._sync_send(frame)
        except IPCError as error:
            self._dispatch("error", error)

    def _sync_next(self) -> None:
        if self._sync_queue:
            try:
                self._emit_later(self._sync_queue.popleft())
            except IPCError as error:
                self._dispatch("error", error)
        else:
            self._sync_busy = False

    def _emit_later(self, frame: bytes) -> bool:
        """Write ``frame`` now if connected, else hold it for the connection.

        Call from any thread; the ``maxPendingBytes`` check on held frames
        raises to the caller.
        """
        conn = self._conn
        if conn is not None and not conn.closed:
            return self._write(conn, frame)
        with self._backlog_lock:
            conn = self._conn
            if conn is None or conn.closed:
                limit = self._wire.settings.maxPendingBytes
                held = self._backlog_bytes + len(frame)
                if held > limit and limit != math.inf:
                    raise BackpressureError(
                        f"{held} bytes would wait for the connection to {self.id!r}; "
                        f"maxPendingBytes is {limit}"
                    )
                self._backlog.append(frame)
                self._backlog_bytes = held
                return True
        return self._write(conn, frame)

    async def drain(self) -> None:
        """Wait until the server has taken enough of what was sent.

        Returns once the connection is no longer behind: the transport's
        write buffer has drained below its low-water mark (asyncio's
        ``resume_writing``). Returns at once when the connection is not
        behind, is closed, or was never made (frames held for a connection
        are not waited for); it does not raise. Await it on the event loop
        the client runs on (in a handler's coroutine, or in the coroutine
        that connected it); use it after ``emit`` returned ``False``.
        """
        conn = self._conn
        if conn is not None:
            await conn.drain()

    async def wait_connected(self) -> None:
        """Wait until the connection is up.

        Returns at once when it is up already. It may be awaited from any
        thread or event loop.

        Raises:
            IPCNotConnectedError: Raised when the client is destroyed first,
                or was destroyed or disconnected already.
        """
        if self._handle is None:
            raise IPCNotConnectedError(f"client {self.id!r} is not connecting")
        await self._handle.awaitable(self._wait_connected())

    async def _wait_connected(self) -> None:
        if self.connected:
            return
        if self.destroyed:
            raise IPCNotConnectedError(f"connection to {self.id!r} was destroyed")
        assert self._handle is not None
        waiter = self._handle.loop.create_future()
        self._connected_waiters.append(waiter)
        await waiter

    async def wait_closed(self) -> None:
        """Wait until the client is destroyed.

        That is, [`IPC.disconnect`][fastipc.IPC.disconnect] or
        [`end()`][fastipc.Client.end] finished it, or no retry remains.
        Returns at once for a client that already is (or never started). It
        may be awaited from any thread or event loop.
        """
        handle = self._handle
        if handle is None or self.destroyed:
            return
        await handle.awaitable(self._wait_closed())

    async def _wait_closed(self) -> None:
        if self.destroyed or self._handle is None:
            return
        waiter = self._handle.loop.create_future()
        self._closed_waiters.append(waiter)
        await waiter

    def __repr__(self) -> str:
        state = "connected" if self.connected else ("destroyed" if self.destroyed else "connecting")
        return f"<fastipc.Client {self.id!r} {self._where()} {state}>"
