"""UDP servers (``serveNet(..., 'udp4' | 'udp6')``) over real sockets on
127.0.0.1 and ::1: node-ipc's argument forms and defaults, the world/hello
exchange, emit targets, several frames in one datagram, and datagrams that
break the protocol, which are reported while every other peer carries on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from fastipc import IPC, IPCProtocolError
from fastipc._udp import UDPPeer, UDPServer
from fastipc.errors import AssuredTransportError, IPCConfigError

from .helpers import QUIET, WAIT, closed, free_udp_port, make_ipc, started, take

HOSTS = {"udp4": "127.0.0.1", "udp6": "::1"}


def nothing_more(q: queue.Queue[Any]) -> None:
    with contextlib.suppress(queue.Empty):
        raise AssertionError(f"unexpected: {q.get(timeout=QUIET)!r}")


@contextlib.contextmanager
def serving(ipc: IPC) -> Iterator[UDPServer]:
    """Start ``ipc.server`` from plain code (the loop thread); always stop it."""
    server = ipc.server
    assert isinstance(server, UDPServer)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def udp_socket(host: str = "127.0.0.1") -> Iterator[socket.socket]:
    """A plain socket, to send hand-made datagrams and read replies."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        sock.settimeout(WAIT)
        yield sock


# ---------------------------------------------------------------- serveNet


@pytest.mark.parametrize(
    ("args", "host", "port", "udp_type", "has_callback"),
    [
        (("udp4",), "127.0.0.1", "default", "udp4", False),
        (("udp4", "cb"), "127.0.0.1", "default", "udp4", True),
        (("UDP4", "cb"), "127.0.0.1", "default", "udp4", True),
        (("port", "udp4"), "127.0.0.1", "given", "udp4", False),
        (("port", "udp4", "cb"), "127.0.0.1", "given", "udp4", True),
        (("127.0.0.1", "port", "udp4", "cb"), "127.0.0.1", "given", "udp4", True),
        (("localhost", "port", "udp4", "cb"), "localhost", "given", "udp4", True),
        (("127.0.0.1", "udp4", "cb"), "127.0.0.1", "default", "udp4", True),
        # node-ipc binds a udp4 server asked for ::1 to 127.0.0.1
        (("::1", "port", "udp4", "cb"), "127.0.0.1", "given", "udp4", True),
        (("::1", "port", "udp6", "cb"), "::1", "given", "udp6", True),
        (("::1", "udp6", "cb"), "::1", "default", "udp6", True),
        (("::1", "port", "udp6"), "::1", "given", "udp6", False),
    ],
)
def test_serve_net_argument_forms(args, host, port, udp_type, has_callback):
    ipc = make_ipc(networkPort=free_udp_port("::1" if udp_type == "udp6" else "127.0.0.1"))
    given = free_udp_port("::1" if udp_type == "udp6" else "127.0.0.1")
    calls: list[Any] = []

    def cb(*server: Any) -> None:
        calls.append(server)

    values = [given if a == "port" else cb if a == "cb" else a for a in args]
    server = ipc.serveNet(*values)
    assert ipc.server is server and isinstance(server, UDPServer)
    expected_port = given if port == "given" else ipc.config.networkPort
    assert (server.path, server.port, server.UDPType) == (host, expected_port, udp_type)
    assert (server.udp4, server.udp6) == (udp_type == "udp4", udp_type == "udp6")
    with serving(ipc):
        assert server.listening
        assert server.transport is not None
        bound = server.transport.get_extra_info("sockname")
        assert bound[1] == expected_port
        assert bound[0] == ("::1" if udp_type == "udp6" else "127.0.0.1")
    assert not server.listening
    assert calls == ([(server,)] if has_callback else [])


def test_serve_net_udp6_default_host_follows_iptype():
    ipc = make_ipc(IPType="IPv6", networkPort=free_udp_port("::1"))
    server = ipc.serve_net("udp6")  # the PEP 8 alias
    assert (server.path, server.port) == ("::1", ipc.config.networkPort)
    with serving(ipc):
        assert server.listening


def test_serve_net_udp6_on_an_ipv4_host_fails_to_start():
    """As node-ipc 14 (bind EINVAL), udp6 on the default 127.0.0.1 does not
    start: the error event fires and start() raises; nothing stays open."""
    ipc = make_ipc(networkPort=free_udp_port())
    errors: list[BaseException] = []
    server = ipc.serveNet("udp6", lambda: pytest.fail("must not start"))
    server.on("error", errors.append)
    with pytest.raises(OSError):
        server.start()
    assert len(errors) == 1 and isinstance(errors[0], OSError)
    assert not server.listening


@pytest.mark.parametrize("bad", ["udp5", "tcp", 4])
def test_serve_net_refuses_unknown_udp_types(bad):
    with pytest.raises(IPCConfigError, match="UDPType"):
        make_ipc().serveNet("127.0.0.1", 8000, bad)


def test_assured_refuses_udp_before_binding():
    ipc = make_ipc(parser="assured", allowedEvents=["message"], networkPort=free_udp_port())
    server = ipc.serveNet("udp4")
    with pytest.raises(AssuredTransportError) as caught:
        server.start()
    assert caught.value.code == "ERR_IPC_ASSURED_TRANSPORT"
    assert not server.listening


def test_port_zero_binds_a_free_port_and_reports_it():
    ipc = make_ipc()
    server = ipc.serveNet("127.0.0.1", 0, "udp4")
    with serving(ipc):
        assert server.port and server.port == server.transport.get_extra_info("sockname")[1]


def test_start_on_a_bound_socket():
    ipc = make_ipc()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    got: queue.Queue[Any] = queue.Queue()
    server = ipc.serveNet("127.0.0.1", port, "udp4")
    server.on("ping", lambda data, peer: got.put(data))
    server.start(sock)  # closed by stop()
    try:
        with udp_socket() as probe:
            probe.sendto(b'{"type":"ping","data":1}\f', ("127.0.0.1", port))
            assert take(got) == 1
    finally:
        server.stop()
    assert sock.fileno() == -1


# ---------------------------------------------------------------- world / hello


async def world_and_hello(udp_type: str) -> None:
    """node-ipc's README UDP example, both ends in this process."""
    host = HOSTS[udp_type]
    world, hello = make_ipc(id="world"), make_ipc(id="hello")
    heard: list[tuple[Any, Any]] = []
    answered: asyncio.Queue[tuple[Any, Any]] = asyncio.Queue()
    order: list[str] = []

    def world_started() -> None:
        @world.server.on("message")
        def message(data: Any, socket: UDPPeer) -> None:
            heard.append((data, socket))
            world.server.emit(
                socket, "message", {"from": world.config.id, "message": data["message"] + " world!"}
            )

    world.serveNet(host, free_udp_port(host), udp_type, world_started)
    world.server.on("connect", lambda server: order.append("connect"))
    world.server.on("start", lambda server: order.append("start"))
    world.server.start()
    await started(world.server)
    assert order == ["connect", "start"]

    def hello_started() -> None:
        hello.server.on("message", lambda data, socket: answered.put_nowait((data, socket)))
        hello.server.emit(
            {"address": host, "port": world.server.port},
            "message",
            {"from": hello.config.id, "message": "Hello"},
        )

    hello.serveNet(host, free_udp_port(host), udp_type, hello_started)
    hello.server.start()
    try:
        data, peer = await asyncio.wait_for(answered.get(), WAIT)
        assert data == {"from": "world", "message": "Hello world!"}
        assert peer == {"address": host, "port": world.server.port}
        assert (peer.address, peer.port, peer["port"]) == (
            host,
            world.server.port,
            world.server.port,
        )
        assert heard[0][0] == {"from": "hello", "message": "Hello"}
        assert heard[0][1] == {"address": host, "port": hello.server.port}
        assert heard[0][1].family == ("IPv6" if udp_type == "udp6" else "IPv4")
        assert world.server.sockets == [heard[0][1]]  # peers are learnt from datagrams
    finally:
        hello.server.stop()
        world.server.stop()
        await closed(hello.server)
        await closed(world.server)


@pytest.mark.parametrize("udp_type", ["udp4", "udp6"])
def test_world_and_hello_in_a_loop(run, udp_type):
    run(lambda: world_and_hello(udp_type))


@pytest.mark.parametrize("udp_type", ["udp4", "udp6"])
def test_world_and_hello_on_the_loop_thread(udp_type):
    host = HOSTS[udp_type]
    world, hello = make_ipc(id="world"), make_ipc(id="hello")
    got: queue.Queue[Any] = queue.Queue()
    world.serveNet(host, free_udp_port(host), udp_type)
    world.server.on(
        "message", lambda data, socket: socket.emit("message", data["message"] + " world!")
    )
    hello.serveNet(host, free_udp_port(host), udp_type)
    hello.server.on(
        "message", lambda data, socket: got.put((data, threading.current_thread().name))
    )
    with serving(world), serving(hello):
        # emit from this (non-loop) thread
        hello.server.emit((host, world.server.port), "message", {"message": "Hello"})
        assert take(got) == ("Hello world!", "fastipc-loop")


# ---------------------------------------------------------------- emit targets


def test_emit_targets():
    """A peer, a dict, a tuple, an object with address/port, and a host name."""
    ipc = make_ipc()
    ipc.serveNet("127.0.0.1", free_udp_port(), "udp4")
    peers: queue.Queue[UDPPeer] = queue.Queue()
    ipc.server.on("hi", lambda data, peer: peers.put(peer))
    with serving(ipc) as server, udp_socket() as probe:
        where = probe.getsockname()
        probe.sendto(b'{"type":"hi","data":{}}\f', ("127.0.0.1", server.port))
        peer = take(peers)
        assert peer == {"address": "127.0.0.1", "port": where[1]}
        assert peer != {"address": "127.0.0.1", "port": where[1] + 1}
        assert hash(peer) == hash(("127.0.0.1", where[1]))

        class Target:
            address, port = where

        targets = [
            peer,
            {"address": "127.0.0.1", "port": where[1]},
            where,
            Target(),
            {"address": "localhost", "port": where[1]},
        ]
        for n, target in enumerate(targets):
            assert server.emit(target, "n", n) is True
        peer.emit("n", "via peer.emit")
        got = [probe.recv(65536) for _ in range(len(targets) + 1)]
        assert got == [b'{"type":"n","data":%d}\f' % n for n in range(len(targets))] + [
            b'{"type":"n","data":"via peer.emit"}\f'
        ]


def test_emit_target_errors():
    ipc = make_ipc()
    ipc.serveNet("127.0.0.1", free_udp_port(), "udp4")
    errors: queue.Queue[BaseException] = queue.Queue()
    ipc.server.on("error", errors.put)
    with serving(ipc) as server:
        with pytest.raises(IPCConfigError, match="emit"):
            server.emit("message", "hello")  # the socket forgotten
        with pytest.raises(IPCConfigError, match="port"):
            server.emit({"address": "127.0.0.1", "port": 70000}, "x")
        # a name that does not resolve: reported, the server carries on
        assert server.emit({"address": "no-such-host.invalid", "port": 9}, "x") is True
        error = take(errors)
        assert isinstance(error, OSError) and "no-such-host.invalid" in str(error)
        # too large for one UDP datagram: reported, nothing sent
        assert server.emit({"address": "127.0.0.1", "port": 9}, "big", "x" * 70_000) is False
        error = take(errors)
        assert isinstance(error, OSError) and "65507" in str(error)
    # stopped: nothing to send with
    assert server.emit({"address": "127.0.0.1", "port": 9}, "x") is False


def test_broadcast_and_addressless_emit_reach_known_peers():
    ipc = make_ipc()
    ipc.serveNet("127.0.0.1", free_udp_port(), "udp4")
    joined: queue.Queue[UDPPeer] = queue.Queue()
    ipc.server.on("join", lambda data, peer: joined.put(peer))
    with serving(ipc) as server, udp_socket() as a, udp_socket() as b:
        for sock in (a, b, a):  # a peer is learnt once
            sock.sendto(b'{"type":"join","data":{}}\f', ("127.0.0.1", server.port))
            take(joined)
        assert [p.port for p in server.sockets] == [a.getsockname()[1], b.getsockname()[1]]
        server.broadcast("news", 1)
        server.emit({}, "news", 2)  # node-ipc: no address, so every known peer
        for sock in (a, b):
            assert [sock.recv(100) for _ in range(2)] == [
                b'{"type":"news","data":1}\f',
                b'{"type":"news","data":2}\f',
            ]
        server.sockets[0].destroy()  # forget a
        server.broadcast("news", 3)
        assert b.recv(100) == b'{"type":"news","data":3}\f'
        a.settimeout(QUIET)
        with pytest.raises(TimeoutError):
            a.recv(100)


def test_identify_peer_sets_the_peer_id():
    ipc = make_ipc(identifyPeer=True)
    ipc.serveNet("127.0.0.1", free_udp_port(), "udp4")
    peers: queue.Queue[UDPPeer] = queue.Queue()
    ipc.server.on("hello", lambda data, peer: peers.put(peer))
    with serving(ipc) as server, udp_socket() as probe:
        probe.sendto(b'{"type":"hello","data":{"id":"client-7"}}\f', ("127.0.0.1", server.port))
        assert take(peers).id == "client-7"


# ---------------------------------------------------------------- datagrams


def test_frames_in_one_datagram_arrive_in_order(codec):
    ipc = make_ipc()
    ipc.serveNet("127.0.0.1", free_udp_port(), "udp4")
    got: queue.Queue[Any] = queue.Queue()
    for name in ("a", "b", "c"):
        ipc.server.on(name, lambda data, peer, name=name: got.put((name, data)))
    with serving(ipc) as server, udp_socket() as probe:
        probe.sendto(
            b'{"type":"a","data":1}\f{"type":"b","data":"\xc3\xa9"}\f{"type":"c"}\f',
            ("127.0.0.1", server.port),
        )
        assert [take(got) for _ in range(3)] == [("a", 1), ("b", "é"), ("c", None)]


MALFORMED = [
    ("bad-json", b'{"type":"x","data":\f', "ERR_IPC_INVALID_JSON", []),
    ("no-delimiter", b'{"type":"ok","data":1}', "ERR_IPC_INVALID_MESSAGE", []),
    (
        "unfinished-after-good",
        b'{"type":"ok","data":1}\f{"type":"ok"',
        "ERR_IPC_INVALID_MESSAGE",
        [1],
    ),
    (
        "good-then-bad",
        b'{"type":"ok","data":1}\fnope\f{"type":"ok","data":2}\f',
        "ERR_IPC_INVALID_JSON",
        [1],
    ),
    ("not-utf8", b'{"type":"ok","data":"\xff\xfe"}\f', "ERR_IPC_INVALID_JSON", []),
    ("array", b"[1,2]\f", "ERR_IPC_INVALID_MESSAGE", []),
    ("no-type", b'{"data":1}\f', "ERR_IPC_INVALID_EVENT", []),
]


@pytest.mark.parametrize(
    ("case", "datagram", "code", "delivered"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_datagram_is_reported_and_others_carry_on(
    codec, caplog, case, datagram, code, delivered
):
    ipc = make_ipc()
    ipc.serveNet("127.0.0.1", free_udp_port(), "udp4")
    got: queue.Queue[Any] = queue.Queue()
    errors: queue.Queue[BaseException] = queue.Queue()
    ipc.server.on("ok", lambda data, peer: got.put(("ok", data, peer.port)))
    ipc.server.on("ping", lambda data, peer: peer.emit("pong", data))
    ipc.server.on("error", errors.put)
    with caplog.at_level(logging.WARNING, "fastipc"), serving(ipc) as server:
        to = ("127.0.0.1", server.port)
        with udp_socket() as hostile, udp_socket() as good:
            hostile.sendto(datagram, to)
            error = take(errors)
            assert isinstance(error, IPCProtocolError) and error.code == code
            assert f"port {hostile.getsockname()[1]}" in str(error)
            assert [take(got)[1] for _ in delivered] == delivered
            # the good peer is served; so is the hostile one's next datagram
            good.sendto(b'{"type":"ping","data":"still there"}\f', to)
            assert good.recv(100) == b'{"type":"pong","data":"still there"}\f'
            hostile.sendto(b'{"type":"ok","data":"next"}\f', to)
            assert take(got) == ("ok", "next", hostile.getsockname()[1])
            nothing_more(errors)
    assert any(code in record.getMessage() for record in caplog.records)


def test_oversize_datagram_under_guarded(codec):
    ipc = make_ipc(parser="guarded", maxMessageSize=64)
    ipc.serveNet("127.0.0.1", free_udp_port(), "udp4")
    got: queue.Queue[Any] = queue.Queue()
    errors: queue.Queue[BaseException] = queue.Queue()
    ipc.server.on("ok", lambda data, peer: got.put(data))
    ipc.server.on("error", errors.put)
    with serving(ipc) as server, udp_socket() as probe:
        to = ("127.0.0.1", server.port)
        probe.sendto(b'{"type":"ok","data":"%s"}\f' % (b"x" * 100), to)
        probe.sendto(b'{"type":"ok","data":"%s"' % (b"x" * 100), to)  # unfinished, too
        probe.sendto(b'{"type":"error","data":1}\f', to)  # reserved name
        probe.sendto(b'{"type":"ok","data":"small"}\f', to)
        codes = [take(errors).code for _ in range(3)]
        assert codes == [
            "ERR_IPC_FRAME_TOO_LARGE",
            "ERR_IPC_FRAME_TOO_LARGE",
            "ERR_IPC_RESERVED_EVENT",
        ]
        assert take(got) == "small"


def test_large_datagram_in_fast_profile_is_delivered_whole():
    """Up to UDP's own limit (65507 bytes over IPv4) a datagram is read whole."""
    ipc = make_ipc()
    ipc.serveNet("127.0.0.1", free_udp_port(), "udp4")
    got: queue.Queue[Any] = queue.Queue()
    ipc.server.on("big", lambda data, peer: got.put(data))
    with serving(ipc) as server, udp_socket() as probe:
        payload = "y" * (65507 - len(b'{"type":"big","data":""}\f'))
        probe.sendto(b'{"type":"big","data":"%s"}\f' % payload.encode(), ("127.0.0.1", server.port))
        assert take(got) == payload
        assert server.emit(probe.getsockname(), "big", payload) is True
        assert len(probe.recv(70000)) == 65507


def test_raw_mode_over_udp():
    ipc = make_ipc(rawBuffer=True)
    ipc.serveNet("::1", free_udp_port("::1"), "udp6")
    got: queue.Queue[tuple[bytes, UDPPeer]] = queue.Queue()
    ipc.server.on("data", lambda data, peer: got.put((data, peer)))
    with serving(ipc) as server, udp_socket("::1") as probe:
        to = ("::1", server.port)
        for datagram in (b"\x00\x0c\xff not json \f", b""):
            probe.sendto(datagram, to)
            data, peer = take(got)
            assert data == datagram and peer.port == probe.getsockname()[1]
        server.emit(peer, b"\x01\x02")
        server.emit(peer, "text")
        server.emit(peer, [7, 8, 9])
        server.broadcast(b"all")
        assert [probe.recv(100) for _ in range(4)] == [
            b"\x01\x02",
            b"text",
            b"\x07\x08\x09",
            b"all",
        ]


def test_repr_and_peer_reading():
    ipc = make_ipc()
    server = ipc.serveNet("::1", 8123, "udp6")
    assert repr(server) == "<fastipc.UDPServer udp6 [::1]:8123 peers=0 listening=False>"
    peer = UDPPeer(server, ("::1", 5000, 0, 0))
    assert repr(peer) == "<UDPPeer [::1]:5000 id=False>"
    assert (peer["family"], peer.get("id"), peer.get("nope", 1)) == ("IPv6", False, 1)
    assert (peer.remoteAddress, peer.remotePort, peer.destroyed) == ("::1", 5000, False)
    with pytest.raises(KeyError):
        peer["nope"]
    assert peer != 5
