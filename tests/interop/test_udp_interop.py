"""fastipc's UDP servers against real node-ipc 14.0.0 and 9.2.1 processes.

node-ipc's README UDP example, "world" and "hello": both ends ``serveNet``
UDP and emit to each other's address and port. Each pairing runs in both
directions, on udp4 (127.0.0.1) and udp6 (::1), against both node-ipc
versions (9.2.1's UDP works on Node 22: it binds, decodes a datagram on its
own and sends to ``{address, port}``). The Node end is ``node/udp_peer.mjs``;
see the top of that file. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from fastipc import IPC, IPCProtocolError

from ..helpers import free_udp_port, make_ipc, take
from ._node import NodeProcess

pytestmark = pytest.mark.interop

FAMILIES = {"udp4": "127.0.0.1", "udp6": "::1"}


class UDPNodePeer(NodeProcess):
    """One ``udp_peer.mjs`` process; :meth:`close` ends it and closes its pipes."""

    label = "node udp peer"

    def __init__(self, node: os.PathLike[str], spec: dict[str, Any]) -> None:
        super().__init__(node, "udp_peer.mjs", json.dumps(spec), spec=spec)


@contextlib.contextmanager
def node_udp(node: os.PathLike[str], **spec: Any) -> Iterator[UDPNodePeer]:
    peer = UDPNodePeer(node, spec)
    try:
        peer.ready = peer.wait("ready")  # type: ignore[attr-defined]
        yield peer
    finally:
        peer.close()


@contextlib.contextmanager
def started(ipc: IPC) -> Iterator[Any]:
    assert ipc.server is not None
    ipc.server.start()
    try:
        yield ipc.server
    finally:
        ipc.server.stop()


# ---------------------------------------------------------------- README example


@pytest.mark.parametrize("version", ["14", "9"])
@pytest.mark.parametrize("udp_type", ["udp4", "udp6"])
def test_python_world_node_hello(node, version, udp_type):
    host = FAMILIES[udp_type]
    world = make_ipc(id="world")
    got: queue.Queue[tuple[Any, str, int]] = queue.Queue()

    def world_started() -> None:
        @world.server.on("message")
        def message(data, socket) -> None:
            got.put((data, socket.address, socket.port))
            world.server.emit(
                socket, "message", {"from": world.config.id, "message": data["message"] + " world!"}
            )

    world.serveNet(host, free_udp_port(host), udp_type, world_started)
    with started(world) as server:
        hello_port = free_udp_port(host)
        spec = {
            "version": version,
            "type": udp_type,
            "host": host,
            "port": hello_port,
            "id": "hello",
            "role": "hello",
            "target": {"address": host, "port": server.port},
        }
        with node_udp(node, **spec) as hello:
            data, address, port = take(got)
            assert data == {"from": "hello", "message": "Hello"}
            assert (address, port) == (host, hello_port)
            answer = hello.wait("event")
            assert answer["type"] == "message"
            assert answer["data"] == {"from": "world", "message": "Hello world!"}
            assert answer["from"] == {"address": host, "port": server.port}


@pytest.mark.parametrize("version", ["14", "9"])
@pytest.mark.parametrize("udp_type", ["udp4", "udp6"])
def test_node_world_python_hello(node, version, udp_type):
    host = FAMILIES[udp_type]
    world_port = free_udp_port(host)
    spec = {
        "version": version,
        "type": udp_type,
        "host": host,
        "port": world_port,
        "id": "world",
        "role": "world",
    }
    with node_udp(node, **spec) as world:
        hello = make_ipc(id="hello")
        got: queue.Queue[tuple[Any, Any]] = queue.Queue()

        def hello_started() -> None:
            hello.server.on("message", lambda data, socket: got.put((data, socket)))
            hello.server.emit(
                {"address": host, "port": world_port},
                "message",
                {"from": hello.config.id, "message": "Hello"},
            )

        hello.serveNet(host, free_udp_port(host), udp_type, hello_started)
        with started(hello) as server:
            heard = world.wait("event")
            assert heard["data"] == {"from": "hello", "message": "Hello"}
            assert heard["from"] == {"address": host, "port": server.port}
            data, peer = take(got)
            assert data == {"from": "world", "message": "Hello world!"}
            assert peer == {"address": host, "port": world_port}
            assert peer.family == ("IPv6" if udp_type == "udp6" else "IPv4")


# ---------------------------------------------------------------- more than the example


@pytest.mark.parametrize("version", ["14", "9"])
def test_payloads_both_ways_and_emit_without_data(node, version):
    """Unicode, nesting, null and an omitted ``data`` cross in both directions."""
    host = "127.0.0.1"
    py = make_ipc(id="py")
    got: queue.Queue[tuple[str, Any]] = queue.Queue()
    py.serveNet(host, free_udp_port(host), "udp4")
    for name in ("unicode", "nested", "nothing", "null"):
        py.server.on(name, lambda data, socket, name=name: got.put((name, data)))
    with started(py) as server:
        spec = {
            "version": version,
            "type": "udp4",
            "host": host,
            "port": free_udp_port(host),
            "role": "peer",
        }
        with node_udp(node, **spec) as peer:
            to = {"address": host, "port": server.port}
            peer.send(cmd="emit", **to, type="unicode", data="héllo ✓ 🎉")
            peer.send(cmd="emit", **to, type="nested", data={"a": [1, 2.5, {"b": None}]})
            peer.send(cmd="emit", **to, type="nothing")
            peer.send(cmd="emit", **to, type="null", data=None)
            received = dict(take(got) for _ in range(4))
            assert received == {
                "unicode": "héllo ✓ 🎉",
                "nested": {"a": [1, 2.5, {"b": None}]},
                "nothing": {},
                # 9.2.1's format() replaces falsy data other than false and 0 with {}
                "null": None if version == "14" else {},
            }
            node_at = {"address": host, "port": peer.ready["port"]}
            server.emit(node_at, "unicode", "héllo ✓ 🎉")
            server.emit(node_at, "nothing")
            assert peer.wait("event")["data"] == "héllo ✓ 🎉"
            last = peer.wait("event")
            assert (last["type"], last["data"]) == ("nothing", {})


def test_node14_decodes_two_frames_in_one_python_datagram(node):
    """A datagram of two frames, as fastipc accepts them, also reads in node-ipc 14."""
    host = "127.0.0.1"
    spec = {
        "version": "14",
        "type": "udp4",
        "host": host,
        "port": free_udp_port(host),
        "role": "peer",
    }
    with node_udp(node, **spec) as peer:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.sendto(
                b'{"type":"a","data":1}\f{"type":"b","data":2}\f', (host, peer.ready["port"])
            )
            first, second = peer.wait("event"), peer.wait("event")
    assert [(first["type"], first["data"]), (second["type"], second["data"])] == [
        ("a", 1),
        ("b", 2),
    ]


def test_node14_malformed_datagram_leaves_python_server_serving(node):
    """Bad JSON sent by node's own socket is reported; node's next emit arrives."""
    host = "127.0.0.1"
    py = make_ipc(id="py")
    got: queue.Queue[Any] = queue.Queue()
    py.serveNet(host, free_udp_port(host), "udp4")
    py.server.on("ok", lambda data, socket: got.put(("ok", data)))
    py.server.on("error", lambda error: got.put(("error", error)))
    with started(py) as server:
        spec = {
            "version": "14",
            "type": "udp4",
            "host": host,
            "port": free_udp_port(host),
            "role": "peer",
        }
        with node_udp(node, **spec) as peer:
            to = {"address": host, "port": server.port}
            peer.send(cmd="send", **to, hex=b'{"type":"ok","data":\f'.hex())
            peer.send(cmd="emit", **to, type="ok", data=2)
            kind, error = take(got)
            assert kind == "error" and isinstance(error, IPCProtocolError)
            assert error.code == "ERR_IPC_INVALID_JSON"
            assert take(got) == ("ok", 2)


@pytest.mark.parametrize("udp_type", ["udp4", "udp6"])
def test_raw_buffers_with_node14(node, udp_type):
    """rawBuffer over UDP: one datagram is one 'data' event, bytes intact both ways."""
    host = FAMILIES[udp_type]
    py = make_ipc(id="py", rawBuffer=True, encoding="hex")
    got: queue.Queue[tuple[bytes, Any]] = queue.Queue()
    py.serveNet(host, free_udp_port(host), udp_type)
    py.server.on("data", lambda data, socket: got.put((data, socket)))
    with started(py) as server:
        spec = {
            "version": "14",
            "type": udp_type,
            "host": host,
            "port": free_udp_port(host),
            "role": "peer",
            "config": {"rawBuffer": True, "encoding": "hex"},
        }
        with node_udp(node, **spec) as peer:
            payload = bytes([0, 0x0C, 0xFF, 0xFE, 10, 20, 30])
            peer.send(cmd="emit_raw", address=host, port=server.port, hex=payload.hex())
            data, sender = take(got)
            assert data == payload
            assert sender == {"address": host, "port": peer.ready["port"]}
            server.emit(sender, "050d5cff0c")  # a str is encoded with config.encoding
            server.emit(sender, [1, 2, 3])
            assert peer.wait("data")["hex"] == "050d5cff0c"
            assert peer.wait("data")["hex"] == "010203"
