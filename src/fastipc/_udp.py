"""``ipc.server`` for ``serveNet(..., 'udp4' | 'udp6')``: a node-ipc UDP server.

UDP has no connections, so a UDP server is client and server at once: it
binds a port to receive on and sends to any ``{'address', 'port'}``. Peers
are learnt from the datagrams that arrive, as node-ipc 14 learns them: each
sender becomes a ``UDPPeer`` in ``server.sockets``, which handlers get with
every event, and which ``broadcast`` sends to.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket as _socket
from collections import deque
from collections.abc import Mapping
from typing import Any

from ._config import Config
from ._constants import OMITTED
from ._serving import Peer, ServerBase
from ._transports.udp import DatagramProtocol, bind_datagram
from ._wire import decoder_for
from .errors import AssuredTransportError, IPCConfigError, IPCError, IPCProtocolError

__all__ = ["UDPPeer", "UDPServer"]

logger = logging.getLogger("fastipc")

#: The largest UDP payload an IPv4 / IPv6 socket can send (65535 less headers).
MAX_DATAGRAM = {_socket.AF_INET: 65507, _socket.AF_INET6: 65527}
#: Host names resolved for ``emit``, kept at most this many at a time.
RESOLVED_CACHE = 1024


class UDPPeer(Peer):
    """A sender a UDP server has heard from: node-ipc's ``{address, port}``.

    Handlers get it with every event; emit back with ``peer.emit(type,
    data)`` or ``server.emit(peer, type, data)``. It compares equal to any
    peer, and any mapping, with the same ``address`` and ``port``, and can be
    read like node-ipc's rinfo object: ``peer['address']``, ``peer['port']``,
    ``peer['family']``, ``peer['id']``. The server makes one per sender
    address and port and keeps it in
    [`server.sockets`][fastipc.UDPServer.sockets] until the server stops or
    [`destroy()`][fastipc.UDPPeer.destroy] forgets it.
    """

    __slots__ = ("_addr", "address", "family", "port")

    def __init__(self, server: UDPServer, addr: Any) -> None:
        super().__init__(server, addr)
        self._server: UDPServer = server
        self._addr = addr
        #: The sender's IP address, as in node-ipc's rinfo
        #: (``remoteAddress`` holds the same).
        self.address: str = addr[0]
        #: The sender's port, as in node-ipc's rinfo (``remotePort`` holds
        #: the same).
        self.port: int = addr[1]
        #: ``'IPv4'`` or ``'IPv6'``, as in node-ipc's rinfo
        #: (``remoteFamily`` holds the same).
        self.family = "IPv6" if len(addr) == 4 else "IPv4"

    @property
    def destroyed(self) -> bool:
        """Always ``False``: there is no connection to close."""
        return False

    def destroy(self) -> None:
        """Forget this peer: ``broadcast`` no longer sends to it until it sends again."""
        self._server._forget(self)

    async def drain(self) -> None:
        """Nothing to wait for: datagrams are handed to the kernel at once."""

    def __getitem__(self, key: str) -> Any:
        if key in ("address", "port", "family", "id"):
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """Read a field as from node-ipc's rinfo object, as ``dict.get`` does.

        Args:
            key: ``'address'``, ``'port'``, ``'family'`` or ``'id'``.
            default: what to return for any other key.

        Returns:
            The attribute of that name, or ``default``.
        """
        try:
            return self[key]
        except KeyError:
            return default

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UDPPeer):
            return (self.address, self.port) == (other.address, other.port)
        if isinstance(other, Mapping):
            return other.get("address") == self.address and other.get("port") == self.port
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.address, self.port))

    def __repr__(self) -> str:
        host = f"[{self.address}]" if self.family == "IPv6" else self.address
        return f"<UDPPeer {host}:{self.port} id={self.id!r}>"


class UDPServer(ServerBase[UDPPeer]):
    """A node-ipc UDP server: ``start``, ``stop``, ``on``, ``emit``, ``broadcast``.

    Made by ``ipc.serveNet(..., 'udp4' | 'udp6', ...)``. Events: ``connect``
    (with this server, once bound, right before ``start``, as node-ipc 14
    publishes its dgram socket), ``start``, every application event
    (handlers get ``data, peer``), ``data`` in raw mode (``bytes, peer``)
    and ``error``: a datagram that breaks the protocol is dropped and
    reported as an [`IPCProtocolError`][fastipc.IPCProtocolError] with its
    code, the server keeps serving every peer, that one included.
    [`sockets`][fastipc.UDPServer.sockets] holds every
    [`UDPPeer`][fastipc.UDPPeer] heard from, in order of first contact.
    """

    def __init__(self, config: Config, host: str, port: int, UDPType: str, log: Any = None) -> None:
        """Made by ``ipc.serveNet`` with a ``UDPType``; you do not make one yourself.

        Args:
            config: the ``ipc.config`` to share; its wire settings are
                checked and fixed now.
            host: the address to bind.
            port: the port to bind (``0``: any free port).
            UDPType: ``'udp4'`` or ``'udp6'``.
            log: where fastipc's diagnostics go (``ipc.log``); ``None`` for
                nowhere.

        Raises:
            IPCConfigError: Raised when ``UDPType`` is neither, or the
                config's wire settings do not fit together.
        """
        super().__init__(config, host, port, log)
        if UDPType not in ("udp4", "udp6"):
            raise IPCConfigError(f"UDPType must be 'udp4' or 'udp6', got {UDPType!r}")
        #: ``'udp4'`` or ``'udp6'``: the socket type, as given to ``serveNet``.
        self.UDPType = UDPType
        #: ``True`` for a udp4 server, as node-ipc's ``server.udp4``.
        self.udp4 = UDPType == "udp4"
        #: ``True`` for a udp6 server, as node-ipc's ``server.udp6``.
        self.udp6 = not self.udp4
        #: The address family bound: ``socket.AF_INET`` (udp4) or
        #: ``socket.AF_INET6`` (udp6).
        self.family = _socket.AF_INET if self.udp4 else _socket.AF_INET6
        #: The bound ``asyncio.DatagramTransport`` while the server is
        #: started, else ``None``.
        self.transport: asyncio.DatagramTransport | None = None
        self._protocol: DatagramProtocol | None = None
        self._sock: _socket.socket | None = None
        self._peers: dict[tuple[str, int], UDPPeer] = {}
        self._resolved: dict[tuple[str, int], Any] = {}
        self._backlog: deque[tuple[bytes, str, int]] | None = None
        self._max_datagram = MAX_DATAGRAM[self.family]

    # ------------------------------------------------------------ lifecycle

    @property
    def listening(self) -> bool:
        """Whether the socket is bound and receiving."""
        return self.transport is not None and not self.transport.is_closing()

    def start(self, sock: _socket.socket | None = None) -> None:
        """Bind ``host:port`` and receive; ``connect`` then ``start`` run once bound.

        From synchronous code this returns once the socket is bound and
        raises what stopped it from binding; inside a running event loop it
        returns at once (await
        [`wait_started()`][fastipc.UDPServer.wait_started]).

        Args:
            sock: a UDP socket that is already bound, to receive on instead
                of binding ``host:port``.

        Raises:
            IPCError: Raised when the server is already started.
            AssuredTransportError: Raised under ``parser='assured'``: node-ipc
                allows no UDP there, it needs mutually authenticated TLS.
            OSError: Raised (synchronous callers) when binding failed, for
                example udp6 on an IPv4 host such as ``127.0.0.1``.
        """
        super().start(sock)

    def _prepare(self, sock: _socket.socket | None) -> None:
        if self._wire.profile == "assured":
            raise AssuredTransportError(
                f"the assured parser requires mutually authenticated TLS; {self.UDPType} is not allowed"
            )
        self._sock = sock

    async def _open(self) -> None:
        assert self._handle is not None
        wire = self._wire
        decoder = None if wire.raw else decoder_for(wire.settings)
        transport, protocol = await bind_datagram(
            self._handle.loop,
            lambda: DatagramProtocol(self, decoder),
            host=str(self.path),
            port=int(self.port or 0),
            family=self.family,
            sock=self._sock,
        )
        self.transport = transport
        self._protocol = protocol
        bound = transport.get_extra_info("sockname")
        if bound and not self.port:
            self.port = int(bound[1])

    def _open_failed(self, exc: Exception) -> None:
        if isinstance(exc, _socket.gaierror) and self.udp6:
            self._log(
                "server error", exc, f"(udp6 needs an IPv6 host such as '::1', got {self.path!r})"
            )
        else:
            self._log("server error", exc)

    def _announce(self) -> None:
        self._log("starting server on", self.path, f":{self.port}", "as", self.UDPType)
        self._dispatch("connect", self)
        self._dispatch("start", self)

    async def _shutdown(self) -> None:
        self.sockets.clear()
        self._peers.clear()
        self._backlog = None
        protocol = self._protocol
        if protocol is not None:
            protocol.close()
            await protocol.wait_closed()
        self.transport = None
        self._protocol = None

    def _socket_closed(self, exc: Exception | None) -> None:
        if exc is not None:
            self._log("server error", exc)
            self._dispatch("error", exc)

    # ------------------------------------------------------------ receiving

    def _peer(self, addr: Any) -> UDPPeer:
        key = (addr[0], addr[1])
        peer = self._peers.get(key)
        if peer is None:
            peer = UDPPeer(self, addr)
            self._peers[key] = peer
            self.sockets.append(peer)
        return peer

    def _forget(self, peer: UDPPeer) -> None:
        if self._peers.get((peer.address, peer.port)) is peer:
            del self._peers[(peer.address, peer.port)]
            self.sockets.remove(peer)

    def _datagram_received(self, addr: Any, events: list[tuple[str, Any]]) -> None:
        peer = self._peer(addr)
        if self._wire.log_payloads:
            for name, data in events:
                self._log("received event", name, data)
        self._deliver(events, peer, self._wire.identify)

    def _datagram_failed(self, addr: Any, error: IPCProtocolError) -> None:
        if error.events:
            self._datagram_received(addr, error.events)
        peer = self._peer(addr)
        report = type(error)(
            f"datagram from {peer.address} port {peer.port} dropped: {error}", code=error.code
        )
        report.events = error.events
        self._log("IPC protocol error", report.code, str(report))
        logger.warning("dropping a datagram: %s: %s", report.code, report)
        self._dispatch("error", report)

    def _socket_error(self, exc: Exception) -> None:
        self._log("server error", exc)
        logger.warning("UDP socket error: %r", exc)
        self._dispatch("error", exc)

    # ------------------------------------------------------------ sending

    def emit(self, socket: Any, type: Any, data: Any = OMITTED) -> bool:
        """Send one event in one datagram: ``emit(target, type, data)``.

        As in node-ipc, a target without an address or a port broadcasts to
        every known peer instead. In raw mode send bytes instead:
        ``emit(target, payload)``. May be called from any thread; the
        datagram is handed to the kernel on the event loop, and what fails
        there (a host name that does not resolve, an unreachable address)
        is an ``error`` event.

        Args:
            socket: the target: a [`UDPPeer`][fastipc.UDPPeer] a handler
                got, a mapping ``{'address': a, 'port': p}`` (a host name
                is resolved, as node's dgram does) or a ``(host, port)``
                tuple.
            type: the event name; in raw mode, the payload (bytes, a str
                encoded with ``config.encoding``, or a list of ints).
            data: the event's data. Left out, it is sent as ``{}``
                (node-ipc's ``undefined``); ``None`` is sent as ``null``.

        Returns:
            ``True`` when the datagram was handed on to be sent. ``False``
            when nothing was sent: the server is not started, or the
            datagram is larger than UDP allows (each also an ``error``
            event).

        Raises:
            IPCConfigError: Raised when ``socket`` is none of those, or its
                address is not a str or its port not an int in 1..65535.
            IPCEncodeError: Raised when the data has no JSON form.
            IPCProtocolError: Raised under guarded when the event breaks the
                profile's rules.
        """
        frame = self._outgoing(type, data, "dispatching event to socket")
        if isinstance(socket, UDPPeer):
            return self._send(frame, socket.address, socket.port, socket._addr)
        address, port = _target(socket)
        if not address or not port:
            self._log(
                "emit to a UDP target without address or port: broadcasting to every known peer"
            )
            return self._send_all(frame)
        return self._send(frame, address, port, None)

    def broadcast(self, type: Any, data: Any = OMITTED) -> bool:
        """Send one event to every known peer; it is encoded once.

        In raw mode: ``broadcast(payload)``. May be called from any thread.

        Args:
            type: the event name, or the raw-mode payload sent to every
                known peer (as [`UDPServer.emit`][fastipc.UDPServer.emit] takes it).
            data: the event's data, encoded once for every peer.

        Returns:
            ``True`` when a datagram was handed on for every peer (also
            when there is none: a server that is not started knows no
            peer); ``False`` when the datagram is larger than UDP allows (an
            ``error`` event per peer says so).

        Raises:
            IPCEncodeError: Raised when the data has no JSON form.
            IPCProtocolError: Raised under guarded when the event breaks the
                profile's rules.
        """
        frame = self._outgoing(type, data, "broadcasting event")
        return self._send_all(frame)

    def _send_all(self, frame: bytes) -> bool:
        ok = True
        for peer in list(self.sockets):
            if isinstance(peer, UDPPeer) and not self._send(
                frame, peer.address, peer.port, peer._addr
            ):
                ok = False
        return ok

    def _send(self, frame: bytes, address: str, port: int, addr: Any) -> bool:
        handle = self._handle
        if handle is None or self._stopped:
            self._report(
                handle,
                IPCError(f"cannot emit to {address} port {port}: the UDP server is not started"),
            )
            return False
        if len(frame) > self._max_datagram:
            self._report(
                handle,
                OSError(
                    errno.EMSGSIZE,
                    f"datagram of {len(frame)} bytes to {address} port {port} exceeds the "
                    f"{self.UDPType} limit of {self._max_datagram} bytes; nothing was sent",
                ),
            )
            return False
        handle.call(self._send_on_loop, frame, address, port, addr)
        return True

    def _report(self, handle: Any, exc: Exception) -> None:
        self._log("error writing datagram", exc)
        logger.warning("%s", exc)
        if handle is None:
            self._dispatch("error", exc)
        else:
            handle.call(self._dispatch, "error", exc)

    def _send_on_loop(self, frame: bytes, address: str, port: int, addr: Any) -> None:
        protocol = self._protocol
        if protocol is None:
            return
        if self._backlog is not None:  # a host name is being resolved: keep order
            self._backlog.append((frame, address, port))
            return
        if addr is None:
            addr = self._numeric(address, port)
        if addr is None:
            self._backlog = deque([(frame, address, port)])
            asyncio.get_running_loop().create_task(self._resolve_backlog())
            return
        protocol.sendto(frame, addr)

    def _numeric(self, address: str, port: int) -> Any:
        """The socket address for an IP literal (or a name resolved before), else ``None``."""
        key = (address, port)
        addr = self._resolved.get(key)
        if addr is not None:
            return addr
        try:
            ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return None
        try:
            infos = _socket.getaddrinfo(
                address, port, self.family, _socket.SOCK_DGRAM, 0, _socket.AI_NUMERICHOST
            )
        except OSError:
            return None  # the wrong family: resolving reports it
        return self._remember(key, infos[0][4])

    def _remember(self, key: tuple[str, int], addr: Any) -> Any:
        if len(self._resolved) >= RESOLVED_CACHE:
            self._resolved.clear()
        self._resolved[key] = addr
        return addr

    async def _resolve_backlog(self) -> None:
        loop = asyncio.get_running_loop()
        backlog = self._backlog
        while backlog and self._backlog is backlog:
            frame, address, port = backlog[0]
            addr = self._numeric(address, port)
            if addr is None:
                try:
                    infos = await loop.getaddrinfo(
                        address, port, family=self.family, type=_socket.SOCK_DGRAM
                    )
                    addr = self._remember((address, port), infos[0][4])
                except OSError as exc:
                    error = OSError(
                        exc.errno,
                        f"cannot send to {address} port {port} over {self.UDPType}: {exc.strerror or exc}",
                    )
                    # drop what waits for this destination, keep the rest in order
                    remaining = deque(
                        item for item in backlog if (item[1], item[2]) != (address, port)
                    )
                    backlog.clear()
                    backlog.extend(remaining)
                    self._report(None, error)
                    continue
            if self._backlog is not backlog:
                return  # stopped meanwhile
            backlog.popleft()
            if self._protocol is not None:
                self._protocol.sendto(frame, addr)
        if self._backlog is backlog:
            self._backlog = None

    def __repr__(self) -> str:
        host = f"[{self.path}]" if self.udp6 else self.path
        return f"<fastipc.UDPServer {self.UDPType} {host}:{self.port} peers={len(self.sockets)} listening={self.listening}>"


def _target(socket: Any) -> tuple[Any, Any]:
    """``(address, port)`` of an emit target that is not a ``UDPPeer``."""
    if isinstance(socket, Mapping):
        address, port = socket.get("address"), socket.get("port")
    elif isinstance(socket, tuple) and len(socket) >= 2:
        address, port = socket[0], socket[1]
    elif hasattr(socket, "address") and hasattr(socket, "port"):
        address, port = socket.address, socket.port
    else:
        raise IPCConfigError(
            "emit(target, ...) on a UDP server needs a peer, a {'address': a, 'port': p} "
            f"mapping or an (address, port) tuple; got {socket!r}"
        )
    if address and not isinstance(address, str):
        raise IPCConfigError(f"emit target address must be a str, got {address!r}")
    if port and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port <= 65535):
        raise IPCConfigError(f"emit target port must be an int in 1..65535, got {port!r}")
    return address, port
