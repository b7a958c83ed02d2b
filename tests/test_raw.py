"""Raw mode (``rawBuffer=True``) over real Unix sockets and TCP.

No framing and no JSON: bytes written arrive through the ``data`` event as
``bytes``; what is emitted may be bytes, a ``str`` encoded with
``config.encoding`` or a list of ints. A stream may split or join chunks, so
every comparison is on the concatenation of what arrived.

The helpers here (``Recorder``, ``make_ipc``, ``codec``, ``root``,
``Endpoint``) are shared by test_sync.py and test_profiles_live.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fastipc import IPC

from .conftest import load_impl

#: Upper bound (seconds) of any single wait.
WAIT = 10.0

#: Bytes that a text or framed transport would mangle: invalid UTF-8, NUL,
#: the default delimiter, a lone continuation byte, a truncated sequence.
HOSTILE_BYTES = b"\x00\x0c\xff\xfe\x80\x0c\x0c\xc3(\xe2\x82\x00end\f"


# ---------------------------------------------------------------- shared helpers


@pytest.fixture(params=["cython", "python"])
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Servers and clients made in the test use this codec implementation."""
    impl = load_impl(request.param)
    monkeypatch.setattr("fastipc._wire.EventDecoder", impl.EventDecoder)
    monkeypatch.setattr("fastipc._wire.EventEncoder", impl.EventEncoder)
    monkeypatch.setattr("fastipc._wire.encode_raw", impl.encode_raw)
    return str(request.param)


@pytest.fixture
def root() -> Iterator[str]:
    """A private socket root short enough for AF_UNIX paths, ending in '/'."""
    path = tempfile.mkdtemp(prefix="fm", dir="/tmp")
    try:
        yield path + "/"
    finally:
        shutil.rmtree(path, ignore_errors=True)


def make_ipc(root: str, **config: Any) -> IPC:
    ipc = IPC()
    ipc.config.silent = True
    ipc.config.socketRoot = root
    ipc.config.retry = 30
    for key, value in config.items():
        ipc.config[key] = value
    return ipc


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class Recorder:
    """Collects ``(name, args)`` from handlers on any thread; waits are bounded."""

    def __init__(self) -> None:
        self.items: list[tuple[str, tuple[Any, ...]]] = []
        self.changed = threading.Condition()

    def handler(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            with self.changed:
                self.items.append((name, args))
                self.changed.notify_all()

        return record

    def watch(self, emitter: Any, *names: str) -> Recorder:
        for name in names:
            emitter.on(name, self.handler(name))
        return self

    def of(self, name: str) -> list[tuple[Any, ...]]:
        with self.changed:
            return [args for n, args in self.items if n == name]

    def first(self, name: str, timeout: float = WAIT) -> Any:
        """The first argument of the first ``name`` event, waiting for it."""
        self.wait(lambda: any(n == name for n, _ in self.items), timeout, name)
        return self.of(name)[0][0]

    def names(self) -> list[str]:
        with self.changed:
            return [n for n, _ in self.items]

    def joined(self, name: str = "data") -> bytes:
        """The concatenation of the first argument of every ``name`` event."""
        return b"".join(args[0] for args in self.of(name))

    def wait(self, predicate: Callable[[], bool], timeout: float = WAIT, what: str = "") -> None:
        # poll as well: some predicates look at state no handler notifies
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left > 0:
                    self.changed.wait(min(left, 0.01))
                    continue
                raise AssertionError(
                    f"timed out waiting for {what or predicate}; events: {self.names()[-20:]}"
                )

    def wait_bytes(self, expected: bytes, name: str = "data", timeout: float = WAIT) -> None:
        self.wait(
            lambda: len(self.joined(name)) >= len(expected), timeout, f"{len(expected)} bytes"
        )
        assert self.joined(name) == expected


class Endpoint:
    """Where a server listens: a Unix socket by id under ``root``, or TCP."""

    def __init__(self, transport: str, root: str) -> None:
        self.transport = transport
        self.root = root
        self.host = "::1" if transport == "tcp6" else "127.0.0.1"
        self.port = free_port(self.host) if transport.startswith("tcp") else None

    def serve(self, ipc: IPC) -> Any:
        if self.port is not None:
            return ipc.serveNet(self.host, self.port)
        return ipc.serve()

    def connect(self, ipc: IPC, id: str, callback: Callable[[], None]) -> Any:
        if self.port is not None:
            return ipc.connectToNet(id, self.host, self.port, callback)
        return ipc.connectTo(id, callback)

    def node_spec(self) -> dict[str, Any]:
        if self.port is not None:
            return {"transport": "tcp", "host": self.host, "port": self.port}
        return {"transport": "unix", "path": None}


class Session:
    """Servers and clients opened by one test, all closed by :meth:`close`."""

    def __init__(self, root: str, endpoint: Endpoint | None = None) -> None:
        self.root = root
        self.endpoint = endpoint or Endpoint("unix", root)
        self.servers: list[Any] = []
        self.clients: list[tuple[IPC, str]] = []

    def server(self, id: str = "srv", **config: Any) -> tuple[IPC, Any, Recorder]:
        """A started server (background loop) recording connect/error/disconnects."""
        ipc = make_ipc(self.root, id=id, **config)
        server = self.endpoint.serve(ipc)
        sockets = Recorder().watch(server, "connect", "error", "socket.disconnected")
        server.start()
        self.servers.append(server)
        return ipc, server, sockets

    def client(
        self,
        id: str = "srv",
        setup: Callable[[Any], None] | None = None,
        wait: bool = True,
        **config: Any,
    ) -> tuple[IPC, Any, Recorder]:
        """A client of server ``id``; ``setup(client)`` runs in connectTo's callback."""
        ipc = make_ipc(self.root, **config)
        got = Recorder()

        def connecting() -> None:
            got.watch(ipc.of[id], "connect", "disconnect", "destroy", "error")
            if setup is not None:
                setup(ipc.of[id])

        self.endpoint.connect(ipc, id, connecting)
        self.clients.append((ipc, id))
        if wait:
            got.wait(lambda: bool(got.of("connect")), what="connect")
        return ipc, ipc.of[id], got

    def close(self) -> None:
        for ipc, id in self.clients:
            ipc.disconnect(id)
        for server in self.servers:
            server.stop()


@contextlib.contextmanager
def session(root: str, transport: str = "unix") -> Iterator[Session]:
    opened = Session(root, Endpoint(transport, root))
    try:
        yield opened
    finally:
        opened.close()


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("transport", ["unix", "tcp4", "tcp6"])
def test_raw_bytes_both_directions(codec, root, transport):
    """Bytes that framing or text decoding would break arrive intact, both ways,
    including a 1 MiB payload that the stream splits into many chunks."""
    big = bytes(range(256)) * 4096
    with session(root, transport) as s:
        _, server, sockets = s.server(rawBuffer=True)
        inbound = Recorder().watch(server, "data")
        got = Recorder()
        _, client, _ = s.client(rawBuffer=True, setup=lambda c: got.watch(c, "data", "error"))
        sock = sockets.first("connect")
        client.emit(HOSTILE_BYTES)
        client.emit(bytearray(b"\xf0\x9f"))
        client.emit(memoryview(b"\x98\x80"))
        inbound.wait_bytes(HOSTILE_BYTES + "😀".encode())
        inbound.items.clear()
        client.emit(big)
        inbound.wait_bytes(big)
        assert len(inbound.of("data")) > 1  # split by the stream, joined by the test
        server.emit(sock, HOSTILE_BYTES)
        server.emit(sock, big)
        got.wait_bytes(HOSTILE_BYTES + big)
        assert not got.of("error") and not sockets.of("error")


def test_raw_client_and_server_handlers_get_bytes(codec, root):
    """``data`` handlers get ``bytes`` (client) and ``(bytes, socket)`` (server)."""
    with session(root) as s:
        _, server, sockets = s.server(rawBuffer=True)
        inbound = Recorder().watch(server, "data")
        got = Recorder()
        _, client, _ = s.client(rawBuffer=True, setup=lambda c: got.watch(c, "data"))
        sock = sockets.first("connect")
        server.emit(sock, HOSTILE_BYTES)
        got.wait_bytes(HOSTILE_BYTES)
        assert all(type(args[0]) is bytes and len(args) == 1 for args in got.of("data"))
        client.emit(b"\x00")
        inbound.wait_bytes(b"\x00")
        assert inbound.of("data")[0][1] is sock


# str payloads as Node's Buffer.from(str, encoding) encodes them
ENCODED = [
    ("utf8", "héllo €\x00\f", "héllo €\x00\f".encode()),
    ("utf8", "lone \ud800 surrogate", "lone \ufffd surrogate".encode()),
    ("ascii", "héllo", "héllo".encode("latin-1")),  # Node's ascii keeps the low byte
    ("latin1", "ÿé\x00\f", b"\xff\xe9\x00\x0c"),
    ("binary", "ÿé€", b"\xff\xe9\xac"),  # U+20AC keeps its low byte, 0xAC
    ("utf16le", "h€", "h€".encode("utf-16-le")),
    ("ucs2", "😀", "😀".encode("utf-16-le")),
    ("base64", base64.b64encode(HOSTILE_BYTES).decode(), HOSTILE_BYTES),
    ("base64", "AAEC/w", b"\x00\x01\x02\xff"),  # padding optional
    ("hex", HOSTILE_BYTES.hex(), HOSTILE_BYTES),
    ("hex", "00FF0c7", b"\x00\xff\x0c"),  # an odd last digit is dropped
]


@pytest.mark.parametrize(
    ("encoding", "text", "expected"),
    ENCODED,
    ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(ENCODED)],
)
def test_raw_str_uses_config_encoding(root, encoding, text, expected):
    """``emit(str)`` encodes with ``config.encoding``, on the client and the server."""
    with session(root) as s:
        _, server, sockets = s.server(rawBuffer=True, encoding=encoding)
        inbound = Recorder().watch(server, "data")
        got = Recorder()
        _, client, _ = s.client(
            rawBuffer=True, encoding=encoding, setup=lambda c: got.watch(c, "data")
        )
        client.emit(text)
        inbound.wait_bytes(expected)
        server.emit(sockets.first("connect"), text)
        got.wait_bytes(expected)


def test_raw_list_of_ints_and_bytes_ignore_encoding(codec, root):
    """A list of ints is sent as those bytes (modulo 256, as Node's
    ``Buffer.from(array)``); bytes pass through whatever the encoding."""
    with session(root) as s:
        _, server, _ = s.server(rawBuffer=True, encoding="hex")
        inbound = Recorder().watch(server, "data")
        _, client, _ = s.client(rawBuffer=True, encoding="hex")
        client.emit([0x05, 0x6D, 0x5C, 0, 12, 255, 256, -1])
        client.emit(b"not hex")
        inbound.wait_bytes(b"\x05\x6d\x5c\x00\x0c\xff\x00\xffnot hex")


def test_raw_broadcast_reaches_every_client(codec, root):
    with session(root) as s:
        _, server, sockets = s.server(rawBuffer=True)
        receivers = []
        for _ in range(3):
            got = Recorder()
            s.client(rawBuffer=True, setup=lambda c, got=got: got.watch(c, "data"))
            receivers.append(got)
        sockets.wait(lambda: len(sockets.of("connect")) == 3)
        assert server.broadcast(HOSTILE_BYTES) is True
        server.broadcast("tail")
        for got in receivers:
            got.wait_bytes(HOSTILE_BYTES + b"tail")


def test_raw_bad_payload_raises(root):
    from fastipc import IPCEncodeError

    with session(root) as s:
        _, server, sockets = s.server(rawBuffer=True)
        _, client, _ = s.client(rawBuffer=True)
        with pytest.raises(IPCEncodeError):
            client.emit({"type": "x"})
        with pytest.raises(IPCEncodeError):
            client.emit([1, "2"])
        with pytest.raises(IPCEncodeError):
            server.emit(sockets.first("connect"), 3.5)


def test_raw_inside_a_running_loop(root):
    """Raw mode on the caller's asyncio loop (no background thread)."""

    async def body() -> None:
        server_ipc = make_ipc(root, id="srv", rawBuffer=True)
        server = server_ipc.serve()
        inbound = Recorder().watch(server, "data")
        server.on("data", lambda data, sock: sock.emit(data[::-1]) if data.endswith(b"!") else None)
        server.start()
        await server.wait_started()
        client_ipc = make_ipc(root, rawBuffer=True)
        got = Recorder()
        client_ipc.connectTo("srv", lambda: got.watch(client_ipc.of.srv, "data"))
        try:
            await client_ipc.of.srv.wait_connected()
            client_ipc.of.srv.emit(b"\xff\x00\x0c!")
            deadline = time.monotonic() + WAIT
            while got.joined() != b"!\x0c\x00\xff":
                assert time.monotonic() < deadline, got.items
                await asyncio.sleep(0.005)
            assert inbound.joined() == b"\xff\x00\x0c!"
        finally:
            client_ipc.disconnect("srv")
            server.stop()
            await server.wait_closed()

    asyncio.run(asyncio.wait_for(body(), 20))
