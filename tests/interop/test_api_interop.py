"""fastipc's node-ipc API against real node-ipc 14.0.0 and 9.2.1 processes.

Every test pairs a fastipc end (a fresh ``IPC()`` on the background loop
thread) with a Node peer, ``node/peer.mjs``, that serves or connects with the
node-ipc version, transport and delimiter the test asks for. The peer prints
what happens as JSON lines and takes commands as JSON lines on stdin; see the
top of peer.mjs. Handlers run on fastipc's loop thread, so they hand what
they receive to the test through queues. Every wait is bounded.
"""

from __future__ import annotations

import base64
import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from fastipc import IPC
from fastipc.errors import IPCNotConnectedError

from ..helpers import QUIET, block, free_port, make_ipc, take_many
from ._node import NODE_WAIT, OMIT, NodePeer, node_sends

pytestmark = pytest.mark.interop

VERSIONS = ["14", "9"]
TRANSPORTS = ["unix-path", "unix-id", "tcp4", "tcp6"]
DIRECTIONS = ["py-server", "node-server"]

APPSPACE = "fi."
PY_SERVER_ID = "pyserver"
NODE_SERVER_ID = "nodeserver"


# ---------------------------------------------------------------- the Node peer


@contextlib.contextmanager
def node_peer(
    node: os.PathLike[str], spec: dict[str, Any], script: str = "peer.mjs"
) -> Iterator[NodePeer]:
    peer = NodePeer(node, spec, script)
    try:
        peer.wait("listening" if script == "recorder.mjs" else "ready")
        yield peer
    finally:
        peer.close()


# ---------------------------------------------------------------- fastipc's end


def take(q: queue.Queue[Any], count: int, what: str = "events") -> list[Any]:
    """``count`` items from ``q``, or fail saying how many came."""
    return take_many(q, count, NODE_WAIT, what)


def bounded(fn: Callable[[], Any], timeout: float = NODE_WAIT) -> Any:
    """Run a blocking fastipc call (``start``, ``stop``) with a time limit."""
    result: list[Any] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # handed to the test thread
            error.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"{fn} did not return within {timeout}s")
    if error:
        raise error[0]
    return result[0] if result else None


def fastipc_ipc(root: str, **config: Any) -> IPC:
    """An ``IPC`` under ``root`` and this module's appspace (as the Node peers use)."""
    return make_ipc(root, appspace=APPSPACE, **config)


def record(emitter: Any, types: list[str], into: queue.Queue[tuple[str, Any]]) -> None:
    """Put ``(type, data)`` into ``into`` for every event of ``types``."""
    for name in types:
        emitter.on(name, lambda data, *socket, name=name: into.put((name, data)))


@dataclass
class Where:
    """Where a server listens, in the form each side's API takes."""

    transport: str
    path: str | None = None  # unix: explicit path, None for socketRoot + appspace + id
    host: str | None = None
    port: int | None = None

    @classmethod
    def make(cls, transport: str, root: str) -> Where:
        if transport == "unix-path":
            return cls(transport, path=os.path.join(root, "explicit.sock"))
        if transport == "unix-id":
            return cls(transport)
        host = "::1" if transport == "tcp6" else "127.0.0.1"
        return cls(transport, host=host, port=free_port(host))

    @property
    def tcp(self) -> bool:
        return self.port is not None

    def spec(self) -> dict[str, Any]:
        if self.tcp:
            return {"transport": "tcp", "host": self.host, "port": self.port}
        return {"transport": "unix", "path": self.path}

    def serve(self, ipc: IPC) -> Any:
        if self.tcp:
            return ipc.serveNet(self.host, self.port)
        return ipc.serve(self.path) if self.path else ipc.serve()

    def connect(self, ipc: IPC, id: str, callback: Callable[[], None]) -> Any:
        if self.tcp:
            return ipc.connectToNet(id, self.host, self.port, callback)
        if self.path:
            return ipc.connectTo(id, self.path, callback)
        return ipc.connectTo(id, callback)


def node_config(root: str, **config: Any) -> dict[str, Any]:
    return {"socketRoot": root, "appspace": APPSPACE, **config}


@contextlib.contextmanager
def python_server(
    root: str, where: Where, types: list[str], **config: Any
) -> Iterator[tuple[IPC, queue.Queue, queue.Queue]]:
    """A started fastipc server recording ``types``; yields (ipc, events, sockets)."""
    ipc = fastipc_ipc(root, id=PY_SERVER_ID, **config)
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    sockets: queue.Queue[Any] = queue.Queue()
    server = where.serve(ipc)
    server.on("connect", sockets.put)
    record(server, types, events)
    bounded(server.start)
    try:
        yield ipc, events, sockets
    finally:
        bounded(server.stop)


@contextlib.contextmanager
def python_client(
    root: str, where: Where, id: str, types: list[str], **config: Any
) -> Iterator[tuple[IPC, queue.Queue, queue.Queue]]:
    """A fastipc client of ``id`` recording ``types`` and its lifecycle
    (``connect``, ``disconnect``, ``destroy`` into the second queue)."""
    ipc = fastipc_ipc(root, **config)
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    lifecycle: queue.Queue[str] = queue.Queue()

    def handlers() -> None:
        client = ipc.of[id]
        record(client, types, events)
        for name in ("connect", "disconnect", "destroy"):
            client.on(name, lambda name=name: lifecycle.put(name))

    client = where.connect(ipc, id, handlers)
    try:
        yield ipc, events, lifecycle
    finally:
        ipc.disconnect(id)
        # the client is final once destroyed; then its loop thread is released
        block(client.wait_closed())


def wait_for(lifecycle: queue.Queue[str], name: str, timeout: float = NODE_WAIT) -> None:
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        try:
            got = lifecycle.get(timeout=max(deadline - time.monotonic(), 0.001))
        except queue.Empty:
            pytest.fail(f"fastipc client: no {name!r} within {timeout}s (saw {seen})")
        if got == name:
            return
        seen.append(got)


@dataclass
class Link:
    """A connected pair: fastipc on one end, a node-ipc peer on the other."""

    ipc: IPC
    peer: NodePeer
    events: queue.Queue[tuple[str, Any]]  # what fastipc received
    emit: Callable[..., Any]  # fastipc's emit(type[, data]) to the peer
    extra: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def link(
    node: os.PathLike[str],
    version: str,
    direction: str,
    transport: str,
    root: str,
    types: list[str],
    **config: Any,
) -> Iterator[Link]:
    """fastipc and node-ipc ``version`` connected over ``transport``, with
    fastipc serving (``py-server``) or connecting (``node-server``); the
    same ``config`` (for example a delimiter) on both sides."""
    where = Where.make(transport, root)
    if direction == "py-server":
        with python_server(root, where, types, **config) as (ipc, events, sockets):
            spec = {
                "version": version,
                "role": "client",
                "id": PY_SERVER_ID,
                **where.spec(),
                "config": node_config(root, **config),
            }
            with node_peer(node, spec) as peer:
                peer.wait("connect")
                sock = take(sockets, 1, what="server connects")[0]
                yield Link(ipc, peer, events, lambda *args: sock.emit(*args), {"socket": sock})
        return
    spec = {
        "version": version,
        "role": "server",
        "id": NODE_SERVER_ID,
        **where.spec(),
        "config": node_config(root, id=NODE_SERVER_ID, **config),
    }
    with node_peer(node, spec) as peer:
        peer.wait("start")
        with python_client(root, where, NODE_SERVER_ID, types, **config) as (
            ipc,
            events,
            lifecycle,
        ):
            wait_for(lifecycle, "connect")
            peer.wait("connect")
            client = ipc.of[NODE_SERVER_ID]
            yield Link(ipc, peer, events, client.emit, {"lifecycle": lifecycle})


def emit_case(emit: Callable[..., Any], name: str, value: Any) -> None:
    if value is OMIT:
        emit(name)
    else:
        emit(name, value)


def peer_emit(peer: NodePeer, name: str, value: Any, command: str = "emit") -> None:
    if value is OMIT:
        peer.send(cmd=command, type=name)
    else:
        peer.send(cmd=command, type=name, data=value)


# ---------------------------------------------------------------- payloads

MIB_STRING = ("fastipc ünïcødé € 😀 " * 60_000)[: 1 << 20]

#: (name, value sent, value received): the received value is what a
#: JavaScript peer makes of it, since node-ipc's numbers are doubles.
PAYLOADS: list[tuple[str, Any, Any]] = [
    ("ascii", "hello", "hello"),
    ("non-ascii", "héllo wörld ñ 中文 русский 日本語", "héllo wörld ñ 中文 русский 日本語"),
    ("emoji", "😀👍🏽👨‍👩‍👧 🇳🇿", "😀👍🏽👨‍👩‍👧 🇳🇿"),
    (
        "nested",
        {
            "a": [1, 2.5, {"b": None, "c": [True, False, "x"]}],
            "é": {"😀": "ok"},
            "empty": {},
            "list": [],
        },
        {
            "a": [1, 2.5, {"b": None, "c": [True, False, "x"]}],
            "é": {"😀": "ok"},
            "empty": {},
            "list": [],
        },
    ),
    (
        "safe-ints",
        [2**53 - 1, -(2**53 - 1), 2**53, 10**20, 0, -1],
        [2**53 - 1, -(2**53 - 1), 2**53, 10**20, 0, -1],
    ),
    # beyond double precision: a JS peer rounds to the nearest double
    ("int64", 2**63 - 1, 9223372036854776000),
    ("huge-int", 10**30, 1e30),
    ("null", None, None),
    ("omitted", OMIT, {}),
    ("false", False, False),
    ("zero", 0, 0),
    ("empty-string", "", ""),
    ("mib-string", MIB_STRING, MIB_STRING),
]
PAYLOAD_TYPES = [f"p.{name}" for name, _, _ in PAYLOADS]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("version", VERSIONS)
def test_payloads_both_ways(node, codec, root, version, direction, transport):
    with link(node, version, direction, transport, root, PAYLOAD_TYPES) as ln:
        # node-ipc -> fastipc
        for name, value, _ in PAYLOADS:
            peer_emit(ln.peer, f"p.{name}", value)
        got = dict(take(ln.events, len(PAYLOADS)))
        for name, value, expected in PAYLOADS:
            assert got[f"p.{name}"] == node_sends(version, value, expected), name
        # fastipc -> node-ipc
        for name, value, _ in PAYLOADS:
            emit_case(ln.emit, f"p.{name}", value)
        got = dict(ln.peer.events(len(PAYLOADS)))
        for name, _, expected in PAYLOADS:
            assert got[f"p.{name}"] == expected, name


# ---------------------------------------------------------------- bursts

BURST = 10_000


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("version", VERSIONS)
def test_burst_complete_and_in_order_both_ways(node, codec, root, version, direction, transport):
    with link(node, version, direction, transport, root, ["n"]) as ln:
        # node-ipc -> fastipc: one synchronous loop of 10,000 emits
        ln.peer.send(cmd="burst", type="n", count=BURST)
        got = take(ln.events, BURST, what="burst events")
        assert [data for _, data in got] == list(range(BURST))
        # fastipc -> node-ipc: 10,000 emits from this thread
        ln.peer.send(cmd="collect", type="m", count=BURST)
        ln.peer.wait("collecting", type="m")
        for i in range(BURST):
            ln.emit("m", i)
        assert ln.peer.wait("collected", type="m")["data"] == list(range(BURST))


def test_node_9_client_receives_a_burst_with_large_frames(node, codec, root):
    """9.2.1 parses only when a read ends on the delimiter (it keeps
    accumulating otherwise). fastipc writes whole frames, so the last read of
    a burst always ends on one: everything arrives, complete and in order,
    even with 1 MiB frames in the middle that force reads ending mid-frame."""
    big = "é" * (1 << 20)
    with link(node, "9", "py-server", "unix-path", root, []) as ln:
        ln.peer.send(cmd="collect", type="m", count=BURST)
        ln.peer.wait("collecting", type="m")
        for i in range(BURST):
            ln.emit("m", {"i": i, "pad": big} if i % 2500 == 1250 else i)
        data = ln.peer.wait("collected", type="m")["data"]
        assert len(data) == BURST
        assert [d["i"] if isinstance(d, dict) else d for d in data] == list(range(BURST))
        assert all(d["pad"] == big for d in data if isinstance(d, dict))
        # and the connection still works for single events afterwards
        ln.emit("after", "ok")
        assert ln.peer.events(1) == [("after", "ok")]


# ---------------------------------------------------------------- delimiters

DELIMITERS = ["|", "€", "\r\n", "<<END>>"]
DELIMITER_PAYLOADS = [("text", "héllo 😀"), ("nested", {"a": [1, {"b": None}]}), ("omitted", OMIT)]
DELIMITER_BURST = 2_000


@pytest.mark.parametrize("delimiter", DELIMITERS, ids=["pipe", "euro", "crlf", "multi"])
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("version", VERSIONS)
def test_custom_delimiter(node, codec, root, version, direction, delimiter):
    types = [f"d.{name}" for name, _ in DELIMITER_PAYLOADS] + ["n"]
    expected = [(f"d.{name}", {} if value is OMIT else value) for name, value in DELIMITER_PAYLOADS]
    with link(node, version, direction, "unix-path", root, types, delimiter=delimiter) as ln:
        # node-ipc -> fastipc
        for name, value in DELIMITER_PAYLOADS:
            peer_emit(ln.peer, f"d.{name}", value)
        assert take(ln.events, len(expected)) == expected
        ln.peer.send(cmd="burst", type="n", count=DELIMITER_BURST)
        assert [d for _, d in take(ln.events, DELIMITER_BURST)] == list(range(DELIMITER_BURST))
        # fastipc -> node-ipc
        ln.peer.send(cmd="collect", type="m", count=DELIMITER_BURST)
        ln.peer.wait("collecting", type="m")
        for name, value in DELIMITER_PAYLOADS:
            emit_case(ln.emit, f"d.{name}", value)
        for i in range(DELIMITER_BURST):
            ln.emit("m", i)
        if version == "9" and len(delimiter) > 1:
            # node-ipc 9.2.1 only parses when data.slice(-1) == delimiter:
            # one character, so with a longer delimiter it never dispatches
            # anything (a limitation of 9.2.1 itself, not of the bytes sent).
            time.sleep(QUIET)  # everything has arrived: 9.2.1 still dispatches nothing
            ln.peer.send(cmd="report", type="m")
            assert ln.peer.wait("collected", type="m")["data"] == []
            assert ln.peer.poll("event", QUIET) is None
            return
        assert ln.peer.events(len(expected)) == expected
        assert ln.peer.wait("collected", type="m")["data"] == list(range(DELIMITER_BURST))


# ---------------------------------------------------------------- broadcast


@pytest.mark.parametrize("transport", ["unix-path", "tcp4"])
@pytest.mark.parametrize("version", VERSIONS)
def test_broadcast_reaches_python_and_node_clients(node, root, version, transport):
    where = Where.make(transport, root)
    messages = [("hello", "wörld 😀"), ("omitted", OMIT), ("obj", {"k": [1, None, "é"]})]
    expected = [(name, {} if value is OMIT else value) for name, value in messages]
    types = [name for name, _ in messages] + ["b"]
    count = 1_000
    with contextlib.ExitStack() as stack:
        ipc, _, sockets = stack.enter_context(python_server(root, where, []))
        spec = {
            "version": version,
            "role": "client",
            "id": PY_SERVER_ID,
            **where.spec(),
            "config": node_config(root),
        }
        peers = [stack.enter_context(node_peer(node, spec)) for _ in range(2)]
        pys = [
            stack.enter_context(python_client(root, where, PY_SERVER_ID, types)) for _ in range(2)
        ]
        for peer in peers:
            peer.wait("connect")
            peer.send(cmd="collect", type="b", count=count)
            peer.wait("collecting", type="b")
        for _, _, lifecycle in pys:
            wait_for(lifecycle, "connect")
        take(sockets, 4, what="server connects")
        assert len(ipc.server.sockets) == 4

        for name, value in messages:
            if value is OMIT:
                ipc.server.broadcast(name)
            else:
                ipc.server.broadcast(name, value)
        for i in range(count):
            ipc.server.broadcast("b", i)

        for peer in peers:
            assert peer.events(len(messages)) == expected
            assert peer.wait("collected", type="b")["data"] == list(range(count))
        for _, events, _ in pys:
            got = take(events, len(messages) + count)
            assert got[: len(messages)] == expected
            assert got[len(messages) :] == [("b", i) for i in range(count)]


# ---------------------------------------------------------------- lifecycle


@pytest.mark.parametrize("leaves_by", ["disconnect", "exit"])
@pytest.mark.parametrize("version", VERSIONS)
def test_socket_disconnected_when_node_client_leaves(node, root, version, leaves_by):
    where = Where.make("unix-path", root)
    gone: queue.Queue[tuple[Any, Any]] = queue.Queue()
    with python_server(root, where, ["hello"], identifyPeer=True) as (ipc, events, sockets):
        ipc.server.on("socket.disconnected", lambda sock, id: gone.put((sock, id)))
        spec = {
            "version": version,
            "role": "client",
            "id": PY_SERVER_ID,
            **where.spec(),
            "config": node_config(root, stopRetrying=True),
        }
        with node_peer(node, spec) as peer:
            peer.wait("connect")
            sock = take(sockets, 1, what="server connects")[0]
            peer.send(cmd="emit", type="hello", data={"id": "node-client"})
            assert take(events, 1) == [("hello", {"id": "node-client"})]
            assert sock.id == "node-client"
            if leaves_by == "disconnect":
                peer.send(cmd="disconnect")
            else:
                peer.send(cmd="exit")
            left, id = take(gone, 1, what="socket.disconnected")[0]
            assert left is sock
            assert id == "node-client"
            assert sock.destroyed
            assert ipc.server.sockets == []


@pytest.mark.parametrize("transport", ["unix-path", "tcp4"])
@pytest.mark.parametrize("version", VERSIONS)
def test_python_client_reconnects_after_node_server_restarts(node, root, version, transport):
    where = Where.make(transport, root)
    spec = {
        "version": version,
        "role": "server",
        "id": NODE_SERVER_ID,
        **where.spec(),
        "config": node_config(root, id=NODE_SERVER_ID),
    }
    first = NodePeer(node, spec)
    try:
        first.wait("start")
        with python_client(root, where, NODE_SERVER_ID, ["reply"], retry=100) as (
            ipc,
            events,
            lifecycle,
        ):
            wait_for(lifecycle, "connect")
            first.wait("connect")
            ipc.of[NODE_SERVER_ID].emit("before", 1)
            assert first.events(1) == [("before", 1)]

            first.kill()
            wait_for(lifecycle, "disconnect")
            with node_peer(node, spec) as second:
                second.wait("start")
                wait_for(lifecycle, "connect")
                second.wait("connect")
                ipc.of[NODE_SERVER_ID].emit("after", "ré")
                assert second.events(1) == [("after", "ré")]
                second.send(cmd="emit", type="reply", data="ok")
                assert take(events, 1) == [("reply", "ok")]
    finally:
        first.close()


@pytest.mark.parametrize("transport", ["unix-path", "tcp4"])
@pytest.mark.parametrize("version", VERSIONS)
def test_disconnect_is_final(node, root, version, transport):
    with link(node, version, "node-server", transport, root, [], retry=50) as ln:
        client = ln.ipc.of[NODE_SERVER_ID]
        ln.ipc.disconnect(NODE_SERVER_ID)
        assert NODE_SERVER_ID not in ln.ipc.of
        with pytest.raises(AttributeError):
            getattr(ln.ipc.of, NODE_SERVER_ID)
        ln.peer.wait("socket.disconnected")
        # many retry periods later the client has not come back
        assert ln.peer.poll("connect", QUIET) is None
        block(client.wait_closed())
        assert client.destroyed
        assert not client.connected
        with pytest.raises(IPCNotConnectedError):
            client.emit("late", 1)


# ---------------------------------------------------------------- byte parity

#: JSON-representable emits (the Node side gets them through JSON.parse).
PARITY_EMITS: list[tuple[str, Any]] = [
    ("message", "hello"),
    ("événement 😀", {"wörld": ["ü", "€", "😀", "👨‍👩‍👧"]}),
    ("omitted", OMIT),
    ("null", None),
    # Floats print as JavaScript prints them. (Python ints beyond 2**53 are
    # written exactly, which no JS number can be: see test_payloads_both_ways
    # for what node-ipc makes of them.)
    (
        "numbers",
        [
            0,
            -1,
            1.5,
            1.0,
            -0.0,
            0.1,
            1e21,
            1e-7,
            1e16,
            123456789.125,
            2**53,
            float(2**63),
            1e30,
            5e-324,
        ],
    ),
    ("escapes", '\x00\x01\x1f\x7f \b\t\n\f\r " \\ / \u2028\u2029'),
    ("bools", [True, False, None, {}, [], ""]),
    ("nested", {"a": {"b": {"c": {"d": [1, [2, [3, [4]]]]}}}}),
    ("big", MIB_STRING),
]


@pytest.mark.parametrize("delimiter", ["\f", "<<END>>"], ids=["default", "multi"])
def test_byte_parity_with_node_ipc_14(node, codec, root, delimiter):
    path = os.path.join(root, "recorder.sock")
    with node_peer(node, {"path": path}, script="recorder.mjs") as recorder:
        # fastipc's client
        with python_client(root, Where("unix-path", path=path), "rec", [], delimiter=delimiter) as (
            ipc,
            _,
            life,
        ):
            wait_for(life, "connect")
            for name, value in PARITY_EMITS:
                emit_case(ipc.of["rec"].emit, name, value)
        ours = base64.b64decode(recorder.wait("recorded", conn=0)["b64"])

        # node-ipc 14's client, same emits
        spec = {
            "version": "14",
            "role": "client",
            "id": "rec",
            "transport": "unix",
            "path": path,
            "config": node_config(root, delimiter=delimiter, stopRetrying=True),
        }
        with node_peer(node, spec) as peer:
            peer.wait("connect")
            for name, value in PARITY_EMITS:
                peer_emit(peer, name, value)
            peer.send(cmd="end")
            theirs = base64.b64decode(recorder.wait("recorded", conn=1)["b64"])

    frames_theirs = theirs.split(delimiter.encode())
    frames_ours = ours.split(delimiter.encode())
    assert len(frames_ours) == len(frames_theirs) == len(PARITY_EMITS) + 1
    for a, b in zip(frames_ours, frames_theirs, strict=True):
        assert a == b, (a[:300], b[:300])
    assert ours == theirs
