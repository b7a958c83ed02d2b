"""The public surface: what ``fastipc`` exports, and what its objects hand out.

``__all__`` is pinned here name by name, so adding or dropping a public name
is a deliberate change to this file. No public attribute of a live server,
client, socket or peer is an object of a private class; what users need
from a connection (pending bytes, the peer's pid and address, TLS details)
comes through public names, checked here against real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import inspect
import os
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

import fastipc
from fastipc import IPC
from fastipc._transports.endpoint import ConnectOptions, Endpoint, ListenOptions, connect, listen

from .helpers import WAIT, Recorder, make_ipc

EXPORTS = (
    "IPC",
    "OMITTED",
    "Client",
    "ClientStore",
    "Config",
    "IPCSocket",
    "Server",
    "UDPPeer",
    "UDPServer",
    "__version__",
    "ipc",
    "PROTOCOL_ERRORS",
    "AssuredTLSError",
    "AssuredTransportError",
    "BackpressureError",
    "EventNotAllowedError",
    "EventTooLargeError",
    "FrameTooLargeError",
    "IPCConfigError",
    "IPCEncodeError",
    "IPCError",
    "IPCNotConnectedError",
    "IPCProtocolError",
    "InvalidEventError",
    "InvalidJSONError",
    "InvalidMessageError",
    "MessageTimeoutError",
    "RemoteError",
    "RequestTimeoutError",
    "ReservedEventError",
    "SocketRootError",
    "TLSConfigurationError",
    "UnlinkNotSocketError",
    "protocol_error",
)


def test_all_is_pinned():
    assert fastipc.__all__ == EXPORTS
    for name in EXPORTS:
        assert hasattr(fastipc, name), name


def test_module_exports_nothing_else_public():
    # ``annotations``: the __future__ import's feature object
    public = {n for n in vars(fastipc) if not n.startswith("_")} - {"annotations"}
    submodules = {"errors", "framing"}  # public modules, imported by the package
    assert public - submodules - set(EXPORTS) == set()


def test_version_comes_from_the_distribution_metadata():
    assert fastipc.__version__ == importlib.metadata.version("fastipc-node")


# ---------------------------------------------------------------- live objects


def _private_objects(obj: Any, seen: set[int] | None = None, path: str = "") -> list[str]:
    """Public attributes of ``obj`` (and of the peers and clients it holds)
    whose value is an instance of a class fastipc does not export."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    found = []
    for name in dir(obj):
        if name.startswith("_"):
            continue
        value = inspect.getattr_static(obj, name)
        if isinstance(value, property):
            value = getattr(obj, name)
        elif callable(value) or isinstance(value, (staticmethod, classmethod)):
            continue  # methods: their results are checked where they matter
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            module = type(item).__module__
            if module.startswith("fastipc"):
                if type(item).__name__ not in EXPORTS:
                    found.append(f"{path}{name}: {type(item).__module__}.{type(item).__qualname__}")
                else:
                    found += _private_objects(item, seen, f"{path}{name}.")
    return found


@contextlib.contextmanager
def connected_pair(root: str, id: str, net: bool = False) -> Iterator[tuple[Any, Any, Any]]:
    """A started server (TCP on port 0 with ``net``, else a Unix socket) and
    a client connected to it, both ends up: ``(server, socket, client)``."""
    server_ipc = make_ipc(root, id=id)
    server = server_ipc.serveNet("127.0.0.1", 0) if net else server_ipc.serve()
    up = Recorder()
    server.on("connect", up.handler("server"))
    server.start()
    client_ipc = make_ipc(root)

    def watch() -> None:
        client_ipc.of[id].on("connect", up.handler("client"))

    if net:
        client_ipc.connectToNet(id, "127.0.0.1", server.port, watch)
    else:
        client_ipc.connectTo(id, watch)
    try:
        sock = up.first("server")
        up.wait_for("client")
        yield server, sock, client_ipc.of[id]
    finally:
        client_ipc.disconnect(id)
        server.stop()


def test_no_public_attribute_hands_out_a_private_object(root):
    udp_ipc = make_ipc(root)
    udp = udp_ipc.serveNet("127.0.0.1", 0, "udp4")
    heard = Recorder()
    udp.on("hello", lambda data, peer: heard.record("heard", peer))
    udp.start()
    try:
        with connected_pair(root, "pub") as (server, sock, client):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                sender.sendto(b'{"type":"hello","data":1}\f', ("127.0.0.1", udp.port))
                heard.wait_for("heard", 1)
            live = {
                "server": server,
                "socket": sock,
                "client": client,
                "udp": udp,
                "peer": udp.sockets[0],
                "ipc": udp_ipc,
            }
            problems = [
                f"{label}.{p}" for label, obj in live.items() for p in _private_objects(obj)
            ]
            assert problems == []
    finally:
        udp.stop()


def test_a_connection_is_described_by_public_names_over_a_unix_socket(root):
    with connected_pair(root, "names") as (_, sock, client):
        # both ends are this process
        assert sock.peerPid == os.getpid()
        assert client.peerPid == os.getpid()
        assert client.get_extra_info("peername") == root + "app.names"
        assert sock.get_extra_info("no such thing", "default") == "default"
        assert sock.pendingBytes == 0
        assert client.pendingBytes == 0
        assert sock.remoteAddress is None and sock.remotePort is None
    assert client.peerPid is None
    # the latest connection still answers once closed, as asyncio's transports do
    assert client.get_extra_info("peername") == root + "app.names"
    never = make_ipc(root)
    try:
        assert never.connectTo("never").get_extra_info("peername", "none yet") == "none yet"
    finally:
        never.disconnect("never")


def test_a_tcp_connection_reports_addresses_and_the_bound_port(root):
    with connected_pair(root, "net", net=True) as (server, sock, client):
        assert server.port != 0  # the port it got
        assert client.get_extra_info("peername") == ("127.0.0.1", server.port)
        assert sock.remoteAddress == "127.0.0.1"
        assert sock.remotePort == client.get_extra_info("sockname")[1]
        assert sock.remoteFamily == "IPv4"
        assert sock.peerPid is None and client.peerPid is None


def test_pending_bytes_counts_what_a_client_holds_before_it_connects(root):
    client_ipc = make_ipc(root)
    client_ipc.connectTo("nobody")  # no server: the client retries, holding emits
    try:
        client = client_ipc.of.nobody
        client.emit("held", "x" * 100)
        assert client.pendingBytes == len(b'{"type":"held","data":"' + b"x" * 100 + b'"}\f')
    finally:
        client_ipc.disconnect("nobody")


# ---------------------------------------------------------------- on_any


def test_on_any_sees_every_event_a_peer_sends_after_identify(root):
    server_ipc = make_ipc(root, id="tap", identifyPeer=True)
    tapped = Recorder()
    named = Recorder()
    server = server_ipc.serve()
    server.on_any(lambda name, data, sock: tapped.record("tapped", name, data, sock.id))
    server.on("known", lambda data, sock: named.record("named", data))
    server.start()
    client_ipc = make_ipc(root)
    client_ipc.connectTo("tap")
    back = Recorder()
    client = client_ipc.of.tap
    client.on_any(lambda name, data: back.record("back", name, data))

    @server.on("known")
    def answer(data, sock):
        server.emit(sock, "unheard-of", data)

    try:
        client.emit("unknown.name", {"id": "worker-1"})
        client.emit("known", 2)
        assert tapped.wait_for("tapped", 2) == [
            ("unknown.name", {"id": "worker-1"}, "worker-1"),
            ("known", 2, "worker-1"),
        ]
        assert named.wait_for("named", 1) == [(2,)]
        assert back.wait_for("back", 1) == [("unheard-of", 2)]
        # lifecycle events are not peer events
        assert all(
            item[0] not in ("connect", "start") for item in tapped.of("tapped") + back.of("back")
        )
    finally:
        client_ipc.disconnect("tap")
        server.stop()


def test_on_any_can_be_removed_and_its_errors_reach_error_handlers():
    ipc = IPC()
    errors = []
    server = ipc.serve("/tmp/unused-fastipc-tap")  # never started: delivery is direct

    def boom(name, data, sock):
        raise RuntimeError(name)

    calls = []
    server.on("error", errors.append)
    server.on_any(boom)
    server.on("ev", lambda data, sock: calls.append(data))
    server._deliver([("ev", 1)], peer=object())
    assert [str(e) for e in errors] == ["ev"] and calls == [1]
    server.off_any(boom)
    server._deliver([("ev", 2)], peer=object())
    assert len(errors) == 1 and calls == [1, 2]
    with pytest.raises(TypeError):
        server.on_any("not callable")  # type: ignore[arg-type]


# ---------------------------------------------------------------- waiting


def test_wait_started_and_wait_closed_from_another_loop(root):
    """A server on the background loop, awaited from a caller's own loop;
    one waiter timing out does not spoil the future the others share."""
    server_ipc = make_ipc(root, id="waits")
    server = server_ipc.serve()
    server.start()  # plain code: the background loop thread

    async def body():
        await server.wait_started()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 0.05)
        waiter = asyncio.ensure_future(server.wait_closed())
        await asyncio.sleep(0)
        assert not waiter.done()
        await asyncio.get_running_loop().run_in_executor(None, server.stop)
        await asyncio.wait_for(waiter, WAIT)
        await server.wait_closed()  # closed: at once

    asyncio.run(body())
    assert not server.listening


def test_wait_started_raises_what_stopped_it_inside_a_loop(root):
    async def body():
        taken = make_ipc(root, id="taken")
        first = taken.serveNet("127.0.0.1", 0)
        first.start()
        await first.wait_started()
        second = make_ipc(root).serveNet("127.0.0.1", first.port)
        errors = []
        second.on("error", errors.append)
        second.start()
        with pytest.raises(OSError):
            await second.wait_started()
        assert len(errors) == 1
        await second.wait_closed()  # released by the failure: at once
        first.stop()
        await first.wait_closed()

    asyncio.run(asyncio.wait_for(body(), WAIT))


# ---------------------------------------------------------------- transports


def test_the_endpoint_names_its_transport():
    assert Endpoint("/tmp/app.x").kind == "unix"
    assert Endpoint("/tmp/app.x").local
    assert Endpoint("127.0.0.1", 8000).kind == "tcp"
    assert Endpoint("127.0.0.1", 8000, ssl.create_default_context()).kind == "tls"
    assert Endpoint("localhost", 8000).describe() == "localhost:8000"
    assert Endpoint("localhost", 0).describe(port=4321) == "localhost:4321"
    assert Endpoint("/tmp/app.x").describe() == "/tmp/app.x"


class Echo(asyncio.Protocol):
    """Bytes only: the transport layer knows nothing of JSON."""

    def __init__(self, got: asyncio.Queue[bytes]) -> None:
        self.got = got
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.got.put_nowait(data)


@pytest.mark.parametrize("kind", ["unix", "tcp"])
def test_listen_and_connect_choose_the_transport(kind, root):
    async def body():
        loop = asyncio.get_running_loop()
        at_server: asyncio.Queue[bytes] = asyncio.Queue()
        at_client: asyncio.Queue[bytes] = asyncio.Queue()
        endpoint = Endpoint(root + "t.sock") if kind == "unix" else Endpoint("127.0.0.1", 0)
        serving, port = await listen(
            loop, endpoint, lambda: Echo(at_server), ListenOptions(backlog=8)
        )
        try:
            assert (port is None) == (kind == "unix")
            target = endpoint if kind == "unix" else Endpoint("127.0.0.1", port)
            client = Echo(at_client)
            await connect(loop, target, lambda: client, ConnectOptions())
            assert client.transport is not None
            client.transport.write(b"ping")
            assert await asyncio.wait_for(at_server.get(), WAIT) == b"ping"
            client.transport.close()
        finally:
            serving.close()
            await serving.wait_closed()

    asyncio.run(asyncio.wait_for(body(), WAIT))


def test_connect_to_a_unix_socket_nobody_serves_fails_at_once(root):
    async def body():
        loop = asyncio.get_running_loop()
        with pytest.raises((FileNotFoundError, ConnectionRefusedError)):
            await connect(loop, Endpoint(root + "none"), asyncio.Protocol, ConnectOptions())

    asyncio.run(asyncio.wait_for(body(), WAIT))


# ---------------------------------------------------------------- end()


@pytest.mark.parametrize("net", [False, True], ids=["unix", "tcp"])
def test_end_delivers_everything_then_closes_without_retry(root, net):
    server_ipc = make_ipc(root, id="ending")
    got = Recorder()
    gone = Recorder()
    server = server_ipc.serveNet("127.0.0.1", 0) if net else server_ipc.serve()
    server.on("n", lambda data, sock: got.record("got", data))
    server.on("socket.disconnected", lambda sock, id: gone.record("gone", sock))
    server.start()
    client_ipc = make_ipc(root)
    lifecycle = Recorder()

    def watch():
        for name in ("connect", "disconnect", "destroy"):
            client_ipc.of.ending.on(
                name, lambda *args, name=name: lifecycle.record("lifecycle", name)
            )

    if net:
        client_ipc.connectToNet("ending", "127.0.0.1", server.port, watch)
    else:
        client_ipc.connectTo("ending", watch)
    client = client_ipc.of.ending
    try:
        for n in range(2000):
            client.emit("n", n)
        client.end()

        async def closed():
            await client.wait_closed()

        asyncio.run(asyncio.wait_for(closed(), WAIT))
        assert [item[0] for item in got.wait_for("got", 2000)] == list(range(2000))
        gone.wait_for("gone", 1)
        assert [item[0] for item in lifecycle.wait_for("lifecycle", 3)] == [
            "connect",
            "disconnect",
            "destroy",
        ]
        assert client.destroyed
    finally:
        client_ipc.disconnect("ending")
        server.stop()
