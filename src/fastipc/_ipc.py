"""The ``IPC`` class and the default instance ``ipc``: node-ipc's API."""

from __future__ import annotations

import inspect
import logging
import reprlib
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from ._client import Client
from ._config import Config
from ._server import Server
from ._udp import UDPServer
from .errors import IPCConfigError

__all__ = ["IPC", "ClientStore", "ipc"]

logger = logging.getLogger("fastipc")

Callback = Callable[..., Any]


class ClientStore(MutableMapping[str, Client]):
    """``ipc.of``: clients by id, as items (``of['world']``) or attributes
    (``of.world``)."""

    __slots__ = ("_clients",)
    _clients: dict[str, Client]

    def __init__(self) -> None:
        object.__setattr__(self, "_clients", {})

    def __getitem__(self, id: str) -> Client:
        return self._clients[id]

    def __setitem__(self, id: str, client: Client) -> None:
        self._clients[id] = client

    def __delitem__(self, id: str) -> None:
        del self._clients[id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)

    def __getattr__(self, id: str) -> Client:
        try:
            return self._clients[id]
        except KeyError:
            raise AttributeError(f"ipc.of has no client {id!r}") from None

    def __repr__(self) -> str:
        return f"ClientStore({list(self._clients)})"


_COLORS = {
    str: "\x1b[32m",
    int: "\x1b[33m",
    float: "\x1b[33m",
    bool: "\x1b[33m",
    type(None): "\x1b[1m",
}


class IPC:
    """One node-ipc instance: its config, its server, its clients.

    ``from fastipc import ipc`` gives the default instance; make more with
    ``IPC()``, each with its own config.
    """

    def __init__(self) -> None:
        #: This instance's [`Config`][fastipc.Config], node-ipc's
        #: ``ipc.config``, with every key at its default to begin with.
        #: Servers and clients made from this instance share it (the same
        #: object): keys read when they are needed (a client's ``retry``,
        #: ``maxRetries``, ``stopRetrying``, ``interface``; a server's
        #: ``maxConnections``, ``tls``, ``unlink``, ``socketRoot`` at
        #: ``start()``) follow later changes;
        #: the wire settings (parser, delimiter, limits, encoding,
        #: identifyPeer, logPayloads, sync) are fixed when each is made.
        self.config = Config()
        #: The clients ``connectTo`` and ``connectToNet`` made, by id: a
        #: [`ClientStore`][fastipc.ClientStore], read as ``ipc.of['world']``
        #: or ``ipc.of.world``. ``disconnect(id)`` removes the entry.
        self.of = ClientStore()
        #: The server ``serve``/``serveNet`` made last, or ``None``.
        self.server: Server | UDPServer | None = None

    # ------------------------------------------------------------ logging

    def log(self, *args: Any) -> None:
        """Log through ``config.logger`` unless ``config.silent``.

        Objects are rendered to ``config.logDepth`` levels, in colour when
        ``config.logInColor``, as node-ipc's ``util.inspect`` does.
        ``config.logger`` gets one str per call. fastipc logs its own
        diagnostics here too (and on the ``fastipc`` logger at DEBUG).

        Args:
            *args: what to log, joined with spaces: a str as it is, any
                other value as its ``repr``, shortened past
                ``config.logDepth`` levels of nesting.
        """
        config = self.config
        if config.silent:
            return
        parts = []
        for arg in args:
            if isinstance(arg, str):
                parts.append(arg)
                continue
            parts.append(self._inspect(arg))
        config.logger(" ".join(parts))

    def _inspect(self, value: Any) -> str:
        depth = self.config.logDepth
        shown = reprlib.Repr()
        shown.maxlevel = 1_000_000 if depth is None else depth + 1
        shown.maxstring = shown.maxother = shown.maxlong = 10_000
        shown.maxlist = shown.maxtuple = shown.maxdict = shown.maxset = 100
        text = shown.repr(value)
        if self.config.logInColor:
            color = _COLORS.get(type(value), "\x1b[36m")
            text = f"{color}{text}\x1b[0m"
        return text

    def _library_log(self, *args: Any) -> None:
        """fastipc's own diagnostics: to ``ipc.log`` and the ``fastipc`` logger."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(" ".join(a if isinstance(a, str) else repr(a) for a in args))
        self.log(*args)

    # ------------------------------------------------------------ servers

    def serve(self, path: Any = None, callback: Callback | None = None) -> Server:
        """Make ``ipc.server``, a server on a local socket.

        Args:
            path: the socket path; left out, ``socketRoot + appspace + id``.
            callback: bound to the server's ``start`` event; it is called
                with the server, or with no arguments when it takes none.

        Returns:
            The server, also kept as ``ipc.server``; call its ``start()``.

        Raises:
            IPCConfigError: Raised when ``path`` is not a str, or the
                config's wire settings do not fit together.
        """
        if callable(path) and callback is None:
            path, callback = None, path
        path = self._local_path(path, "serve(path)", "Server", self.config.id, "ipc.config.id")
        server = Server(self.config, path, log=self._library_log)
        if callback is not None:
            server.on("start", _no_args(callback))
        self.server = server
        return server

    def serveNet(
        self,
        host: Any = None,
        port: Any = None,
        UDPType: Any = None,
        callback: Callback | None = None,
    ) -> Server | UDPServer:
        """Make ``ipc.server``, a TCP (TLS when ``config.tls`` is set) or UDP server.

        node-ipc's argument overloading applies: arguments may be left out
        from the middle as long as the rest stay in order, as in
        ``serveNet()``, ``serveNet(cb)``, ``serveNet(port, cb)``,
        ``serveNet(host, port, cb)``, ``serveNet('udp4', cb)``,
        ``serveNet(port, 'udp6', cb)``.

        Args:
            host: the address to listen on; left out,
                ``config.networkHost``. A udp4 server given ``'::1'`` binds
                ``'127.0.0.1'``, as node-ipc does.
            port: the port (``0``: any free port, reported by
                ``server.port`` once started); left out,
                ``config.networkPort``.
            UDPType: ``'udp4'`` or ``'udp6'`` for a
                [`UDPServer`][fastipc.UDPServer]; left out, a TCP
                [`Server`][fastipc.Server].
            callback: bound to the server's ``start`` event; it is called
                with the server, or with no arguments when it takes none.

        Returns:
            The server, also kept as ``ipc.server``; call its ``start()``.

        Raises:
            IPCConfigError: Raised when ``host``, ``port`` or ``UDPType``
                has the wrong type or value, or the config's wire settings
                do not fit together.
        """
        if isinstance(host, int) and not isinstance(host, bool):
            host, port, UDPType, callback = None, host, port, UDPType
        if callable(host):
            host, port, UDPType, callback = None, None, None, host
        if isinstance(host, str) and host.lower() in ("udp4", "udp6"):
            host, port, UDPType, callback = None, None, host.lower(), port
        if not host:
            host = self.config.networkHost
        if isinstance(port, str):
            port, UDPType, callback = None, port, UDPType
        if callable(port):
            port, UDPType, callback = None, None, port
        if port is None or port is False:
            port = self.config.networkPort
        if callable(UDPType):
            UDPType, callback = None, UDPType
        if not isinstance(host, str):
            raise IPCConfigError(f"serveNet host must be a str, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise IPCConfigError(f"serveNet port must be an int in 0..65535, got {port!r}")
        server: Server | UDPServer
        if UDPType:
            if not isinstance(UDPType, str) or UDPType.lower() not in ("udp4", "udp6"):
                raise IPCConfigError(f"serveNet UDPType must be 'udp4' or 'udp6', got {UDPType!r}")
            UDPType = UDPType.lower()
            if UDPType == "udp4" and host == "::1":
                host = "127.0.0.1"  # as node-ipc: bind a udp4 socket to an IPv4 address
            server = UDPServer(self.config, host, port, UDPType, log=self._library_log)
        else:
            server = Server(self.config, host, port, log=self._library_log)
        if callback is not None:
            server.on("start", _no_args(callback))
        self.server = server
        return server

    #: The PEP 8 name of [`serveNet`][fastipc.IPC.serveNet]: the same method.
    serve_net = serveNet

    # ------------------------------------------------------------ clients

    def connectTo(
        self, id: str, path: Any = None, callback: Callback | None = None
    ) -> Client | None:
        """Connect to a local-socket server as ``ipc.of[id]``.

        ``callback`` runs at once, before the connection can deliver any
        event, so handlers registered in it never miss ``connect``. Called
        again for an id whose client is not destroyed or disconnected
        (connected, connecting or retrying), it runs ``callback`` and
        changes nothing; for one that is, it starts a new client.

        Args:
            id: the server's id; the key in ``ipc.of``.
            path: the socket path; left out, ``socketRoot + appspace + id``.
            callback: run with no arguments, or with this ``IPC``.

        Returns:
            The client, ``ipc.of[id]``; it connects in the background
            (await its ``wait_connected()``, or handle ``connect``).

        Raises:
            IPCConfigError: Raised when ``id`` is empty, ``path`` is not a
                str, or the config's wire settings do not fit together.
        """
        if callable(path) and callback is None:
            path, callback = None, path
        if not id:
            self._library_log(
                "Service id required",
                "Requested service connection without specifying service id. Aborting connection attempt",
            )
            raise IPCConfigError("connectTo(id) needs a service id")
        path = self._local_path(path, "connectTo path", "Service", id, "id")
        return self._connect(id, callback, path)

    def _local_path(self, path: Any, what: str, who: str, id: str, id_name: str) -> str:
        """``path``, or node-ipc's default ``socketRoot + appspace + id`` (logged)."""
        if not path:
            path = self.config.socketRoot + self.config.appspace + id
            self._library_log(
                f"{who} path not specified, so defaulting to",
                f"ipc.config.socketRoot + ipc.config.appspace + {id_name}",
                path,
            )
        if not isinstance(path, str):
            raise IPCConfigError(f"{what} must be a str, got {path!r}")
        return path

    def connectToNet(
        self, id: str, host: Any = None, port: Any = None, callback: Callback | None = None
    ) -> Client | None:
        """Connect to a TCP server (TLS when ``config.tls`` is set) as ``ipc.of[id]``.

        node-ipc's argument overloading applies: ``connectToNet(id)``,
        ``connectToNet(id, cb)``, ``connectToNet(id, port, cb)``,
        ``connectToNet(id, host, port, cb)``. ``callback`` runs at once,
        before the connection can deliver any event, as with
        [`connectTo`][fastipc.IPC.connectTo], and a second call for an id
        whose client is not destroyed or disconnected runs ``callback`` and
        changes nothing. TLS files and the assured profile's rules are
        checked before it connects; when they fail, the client is left in
        ``ipc.of``, destroyed, and the error is raised.

        Args:
            id: the server's id; the key in ``ipc.of``.
            host: the server's address; left out, ``config.networkHost``.
            port: the server's port; left out, ``config.networkPort``.
            callback: run with no arguments, or with this ``IPC``.

        Returns:
            The client, ``ipc.of[id]``; it connects in the background
            (await its ``wait_connected()``, or handle ``connect``).

        Raises:
            IPCConfigError: Raised when ``id`` is empty, ``host`` or
                ``port`` has the wrong type or value, or the config's wire
                settings do not fit together.
            TLSConfigurationError: Raised when the TLS files or options are
                wrong.
            AssuredTransportError: Raised under ``parser='assured'`` without
                ``config.tls``.
            AssuredTLSError: Raised under ``parser='assured'`` without a
                client key and certificate, a trusted CA and
                ``rejectUnauthorized=True``.
        """
        if not id:
            raise IPCConfigError("connectToNet(id) needs a service id")
        if isinstance(host, int) and not isinstance(host, bool):
            host, port, callback = None, host, port
        if callable(host):
            host, port, callback = None, None, host
        if not host:
            host = self.config.networkHost
        if callable(port):
            port, callback = None, port
        if port is None or port is False:
            port = self.config.networkPort
        if not isinstance(host, str):
            raise IPCConfigError(f"connectToNet host must be a str, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port <= 65535:
            raise IPCConfigError(f"connectToNet port must be an int in 1..65535, got {port!r}")
        return self._connect(id, callback, host, port)

    #: The PEP 8 name of [`connectTo`][fastipc.IPC.connectTo]: the same method.
    connect_to = connectTo
    #: The PEP 8 name of [`connectToNet`][fastipc.IPC.connectToNet]: the same
    #: method.
    connect_to_net = connectToNet

    def _connect(
        self, id: str, callback: Callback | None, path: str, port: int | None = None
    ) -> Client | None:
        existing = self.of.get(id)
        if existing is not None:
            if not existing.destroyed and not existing.explicitlyDisconnected:
                self._library_log(
                    "Already Connected to", id, "- So executing success without connection"
                )
                if callback is not None:
                    _call_back(callback, self)
                return existing
            existing._disconnect()
        client = Client(self.config, id, path, port, log=self._library_log)
        self.of[id] = client
        if callback is not None:
            _call_back(callback, self)
        # Only now does the connection start: nothing can be dispatched
        # before the callback above has registered its handlers.
        client._start()
        return client

    def disconnect(self, id: str) -> None:
        """Close ``ipc.of[id]`` for good and remove it; no retry follows.

        As node-ipc (14 and 9.2.1) does, the client's handlers are removed
        first: a disconnect you asked for fires no ``disconnect`` or
        ``destroy`` of its own. It returns at once; the connection closes
        on the event loop (await the client's ``wait_closed()`` for that).
        Does nothing when ``ipc.of`` has no ``id``.

        Args:
            id: the server's id, the key in ``ipc.of``.
        """
        client = self.of.pop(id, None)
        if client is not None:
            client._disconnect()


def _takes_argument(callback: Callback) -> bool:
    """Whether ``callback`` can take one positional argument.

    node-ipc passes one (the IPC instance, the listening server) that most
    callbacks ignore; Python callbacks may leave it out of their signature.
    """
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):
        return True
    for param in signature.parameters.values():
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD, param.VAR_POSITIONAL):
            return True
    return False


def _call_back(callback: Callback, ipc: IPC) -> None:
    if _takes_argument(callback):
        callback(ipc)
    else:
        callback()


def _no_args(callback: Callback) -> Callback:
    """A ``start`` handler calling ``callback`` with or without the server."""
    if _takes_argument(callback):
        return callback
    return lambda server: callback()


#: The default instance, as ``require('node-ipc')`` gives in Node; make
#: others with ``IPC()``.
ipc = IPC()
