r"""fastipc against node-ipc 14.0.0 in Windows Node 22, both under Wine.

The Node end is ``tests/interop/node/peer.mjs``, the same peer the Linux
interop tests drive, reporting through a file (Windows Node under Wine
cannot write to a pipe). Both ends find each other by id alone: node-ipc's
default socket root on Windows, ``/node-ipc-<user>/``, and appspace
``app.`` give the pipe ``\\.\pipe\node-ipc-<user>-app.<id>``.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fastipc import IPC
from fastipc._config import default_socket_root, pipe_path

from ..helpers import Recorder
from ..interop._node import NodePeer, node_sends

pytestmark = pytest.mark.interop

WAIT = 30.0
PAYLOADS = [
    "hello",
    "ünïcødé ✓ 𝄞",
    None,
    0,
    -1.5,
    [1, "two", None, [3]],
    {"nested": {"list": [1, 2, {"deep": "x"}], "empty": {}}},
    "x" * 100_000,
]


def fresh_id() -> str:
    return "w" + uuid.uuid4().hex[:10]


@contextlib.contextmanager
def node_peer(
    win_node, tmp_path, role: str, id: str, version: str = "14", **config: Any
) -> Iterator[NodePeer]:
    if role == "server":
        config = {"id": id, **config}  # peer.mjs serves as config.id
    spec = {
        "version": version,
        "role": role,
        "transport": "pipe",
        "id": id,
        "path": None,
        "config": config,
    }
    peer = NodePeer(win_node, spec, report=tmp_path / f"{role}-{uuid.uuid4().hex[:6]}.jsonl")
    try:
        peer.wait("ready", WAIT)
        yield peer
    finally:
        peer.close()


def default_ipc(**config: Any) -> IPC:
    ipc = IPC()
    ipc.config.silent = True
    for key, value in config.items():
        ipc.config[key] = value
    return ipc


def test_both_ends_agree_on_the_default_pipe_name():
    user = os.environ.get("USERNAME", "user")
    assert pipe_path(default_socket_root() + "app.world") == rf"\\.\pipe\node-ipc-{user}-app.world"


def test_python_client_to_node_server_by_id(win_node, tmp_path):
    id = fresh_id()
    with node_peer(win_node, tmp_path, "server", id) as node:
        node.wait("start", WAIT)
        ipc = default_ipc(retry=100)
        got = Recorder()
        ipc.connectTo(id, lambda: got.watch(ipc.of[id], "connect", "reply", "disconnect"))
        try:
            got.wait(lambda: got.of("connect"), WAIT)
            node.wait("connect", WAIT)
            for value in PAYLOADS:
                ipc.of[id].emit("message", value)
            ipc.of[id].emit("nodata")
            events = node.events(len(PAYLOADS) + 1, WAIT)
            assert events == [("message", v) for v in PAYLOADS] + [("nodata", {})]
            for value in PAYLOADS:
                node.send(cmd="emit", type="reply", data=value)
            got.wait(lambda: len(got.of("reply")) == len(PAYLOADS), WAIT)
            assert [args[0] for args in got.of("reply")] == PAYLOADS
            # a burst from Node arrives whole and in order
            node.send(cmd="burst", type="n", count=10_000)
            seen: list[int] = []
            ipc.of[id].on("n", seen.append)
            got.wait(lambda: len(seen) == 10_000, WAIT)
            assert seen == list(range(10_000))
        finally:
            ipc.disconnect(id)


def test_node_client_to_python_server_by_id(win_node, tmp_path):
    id = fresh_id()
    ipc = default_ipc(id=id)
    seen = Recorder()

    def started():
        seen.watch(ipc.server, "connect", "socket.disconnected")

        @ipc.server.on("message")
        def message(data, sock):
            ipc.server.emit(sock, "reply", data)

        ipc.server.on("n", seen.handler("n"))

    ipc.serve(started)
    ipc.server.start()
    try:
        with node_peer(win_node, tmp_path, "client", id) as node:
            node.wait("connect", WAIT)
            seen.wait(lambda: seen.of("connect"), WAIT)
            (sock,) = [args[0] for args in seen.of("connect")]
            # the OS-verified identity of the Node client
            assert sock.peerPid == node.proc.pid == node.seen_of("ready")[0]["pid"]
            for value in PAYLOADS:
                node.send(cmd="emit", type="message", data=value)
            node.send(cmd="emit", type="message")
            events = node.events(len(PAYLOADS) + 1, WAIT)
            assert events == [("reply", v) for v in PAYLOADS] + [("reply", {})]
            node.send(cmd="burst", type="n", count=10_000)
            seen.wait(lambda: len(seen.of("n")) == 10_000, WAIT)
            assert [args[0] for args in seen.of("n")] == list(range(10_000))
            # and fastipc's burst reaches Node whole and in order
            node.send(cmd="collect", type="m", count=10_000)
            node.wait("collecting", WAIT)
            for i in range(10_000):
                sock.emit("m", i)
            assert node.wait("collected", WAIT, type="m")["data"] == list(range(10_000))
            node.send(cmd="disconnect")
            seen.wait(lambda: seen.of("socket.disconnected"), WAIT)
    finally:
        ipc.server.stop()


def test_broadcast_to_node_and_python_clients(win_node, tmp_path):
    id = fresh_id()
    ipc = default_ipc(id=id)
    seen = Recorder()
    ipc.serve(lambda: seen.watch(ipc.server, "connect"))
    ipc.server.start()
    python_client = default_ipc()
    got = Recorder()
    try:
        with (
            node_peer(win_node, tmp_path, "client", id) as one,
            node_peer(win_node, tmp_path, "client", id) as two,
        ):
            python_client.connectTo(id, lambda: got.watch(python_client.of[id], "news"))
            seen.wait(lambda: len(seen.of("connect")) == 3, WAIT)
            ipc.server.broadcast("news", {"to": "all"})
            for node in (one, two):
                assert node.events(1, WAIT) == [("news", {"to": "all"})]
            got.wait(lambda: got.of("news"), WAIT)
            assert got.of("news") == [({"to": "all"},)]
    finally:
        python_client.disconnect(id)
        ipc.server.stop()


def test_python_client_reconnects_after_node_server_restarts(win_node, tmp_path):
    id = fresh_id()
    ipc = default_ipc(retry=100)
    got = Recorder()
    try:
        with node_peer(win_node, tmp_path, "server", id) as node:
            node.wait("start", WAIT)
            ipc.connectTo(id, lambda: got.watch(ipc.of[id], "connect", "disconnect"))
            got.wait(lambda: got.of("connect"), WAIT)
            node.send(cmd="stop")
            got.wait(lambda: got.of("disconnect"), WAIT)
        with node_peer(win_node, tmp_path, "server", id) as node:
            node.wait("start", WAIT)
            got.wait(lambda: len(got.of("connect")) == 2, WAIT)
            ipc.of[id].emit("after", "restart")
            assert node.events(1, WAIT) == [("after", "restart")]
    finally:
        ipc.disconnect(id)


@pytest.mark.parametrize("direction", ["py-client", "py-server"])
def test_node_ipc_9_both_ways_by_id(win_node, tmp_path, direction):
    r"""node-ipc 9.2.1 (the legacy line): its default socket root is /tmp/, so
    fastipc takes that root and both find the pipe \\.\pipe\tmp-app.<id>."""
    id = fresh_id()
    if direction == "py-client":
        with node_peer(win_node, tmp_path, "server", id, version="9") as node:
            node.wait("start", WAIT)
            ipc = default_ipc(socketRoot="/tmp/", retry=100)
            got = Recorder()
            ipc.connectTo(id, lambda: got.watch(ipc.of[id], "connect", "reply"))
            try:
                got.wait(lambda: got.of("connect"), WAIT)
                for value in PAYLOADS:
                    ipc.of[id].emit("message", value)
                assert node.events(len(PAYLOADS), WAIT) == [("message", v) for v in PAYLOADS]
                node.send(cmd="emit", type="reply", data={"from": "node-ipc 9"})
                got.wait(lambda: got.of("reply"), WAIT)
                assert got.of("reply") == [({"from": "node-ipc 9"},)]
            finally:
                ipc.disconnect(id)
        return
    ipc = default_ipc(id=id, socketRoot="/tmp/")
    seen = Recorder()

    def started():
        seen.watch(ipc.server, "connect")
        ipc.server.on("message", lambda data, sock: ipc.server.emit(sock, "reply", data))

    ipc.serve(started)
    ipc.server.start()
    try:
        with node_peer(win_node, tmp_path, "client", id, version="9") as node:
            node.wait("connect", WAIT)
            for value in PAYLOADS:
                node.send(cmd="emit", type="message", data=value)
            # what node-ipc 9 sends for falsy data, echoed back
            expected = [("reply", node_sends("9", v, v)) for v in PAYLOADS]
            assert node.events(len(PAYLOADS), WAIT) == expected
            (sock,) = [args[0] for args in seen.of("connect")]
            assert sock.peerPid == node.proc.pid
    finally:
        ipc.server.stop()
