"""Raw mode, sync and the guarded profile against real node-ipc processes.

``node/modes_peer.mjs`` is a node-ipc 14.0.0 (or 9.2.1) server or client in
raw or framed mode; ``node/hostile.mjs`` is a plain ``node:net`` peer that
writes bytes no node-ipc peer would and then holds the connection open, or
never reads. Both print JSON lines and take JSON-line commands on stdin, and
exit when stdin closes. A stream may split or join raw chunks, so raw bytes
are compared as the concatenation of what arrived.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ..helpers import (
    HOSTILE,
    HOSTILE_BYTES,
    LIMITS,
    QUIET,
    DelayedAnswers,
    Endpoint,
    RawPeer,
    Recorder,
    frame,
    make_ipc,
    session,
)
from ._node import NODE_WAIT, NodeProcess

pytestmark = pytest.mark.interop

#: 256 KiB of every byte value: split into many chunks on the way.
BIG = bytes(range(256)) * 1024


class Node(NodeProcess):
    """One Node process speaking JSON lines; :meth:`close` ends it and its pipes."""

    label = "node"

    def __init__(self, node: os.PathLike[str], script: str, spec: dict[str, Any]) -> None:
        super().__init__(node, script, json.dumps(spec), spec=spec)

    def raw_bytes(self, size: int, timeout: float = NODE_WAIT) -> bytes:
        """The concatenation of ``data`` lines until ``size`` bytes came."""
        got = bytearray()
        deadline = time.monotonic() + timeout
        while len(got) < size:
            line = self.poll("data", max(deadline - time.monotonic(), 0))
            if line is None:
                pytest.fail(f"node: {len(got)} of {size} raw bytes; {self.diagnostics()}")
            got += bytes.fromhex(line["hex"])
        return bytes(got)

    def events(self, type: str, count: int, timeout: float = NODE_WAIT) -> list[Any]:
        """The data of the next ``count`` events of ``type``."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            line = self.poll("event", max(deadline - time.monotonic(), 0), type=type)
            if line is None:
                pytest.fail(f"node: {len(got)} of {count} {type!r} events; {self.diagnostics()}")
            got.append(line.get("data"))
        return got


@contextlib.contextmanager
def node_process(node: os.PathLike[str], script: str, spec: dict[str, Any]) -> Iterator[Node]:
    proc = Node(node, script, spec)
    try:
        proc.wait("ready")
        yield proc
    finally:
        proc.close()


def peer_spec(
    root: str, endpoint: Endpoint, version: str, role: str, **extra: Any
) -> dict[str, Any]:
    config = {"socketRoot": root, "appspace": "app.", **extra.pop("config", {})}
    return {
        "version": version,
        "role": role,
        "id": "srv",
        **endpoint.node_spec(),
        "config": config,
        **extra,
    }


#: node-ipc 9.2.1 reads raw sockets through setEncoding(config.encoding), so
#: only a byte-preserving encoding keeps arbitrary bytes intact there.
NODE_RAW_ENCODING = {"14": "utf8", "9": "hex"}


# ---------------------------------------------------------------- raw


@pytest.mark.parametrize("version", ["14", "9"])
@pytest.mark.parametrize("transport", ["unix", "tcp4"])
def test_raw_python_server_node_client(node, root, version, transport):
    with session(root, transport) as s:
        _, server, sockets = s.server(rawBuffer=True, encoding="latin1")
        inbound = Recorder().watch(server, "data")
        spec = peer_spec(
            root,
            s.endpoint,
            version,
            "client",
            config={"rawBuffer": True, "encoding": NODE_RAW_ENCODING[version]},
        )
        with node_process(node, "modes_peer.mjs", spec) as peer:
            peer.wait("connect")
            sock = sockets.first("connect")
            # Node -> Python
            peer.send(cmd="raw", hex=HOSTILE_BYTES.hex())
            peer.send(cmd="raw", hex=BIG.hex())
            inbound.wait_bytes(HOSTILE_BYTES + BIG)
            if version == "14":  # a string, encoded by node-ipc with its encoding
                peer.send(cmd="rawstr", text="é\f\x00")
                inbound.wait_bytes(HOSTILE_BYTES + BIG + "é\f\x00".encode())
            # Python -> Node: bytes, a latin1 str, a list of ints
            server.emit(sock, HOSTILE_BYTES)
            server.emit(sock, "ÿ\f")
            server.emit(sock, [0, 12, 255])
            server.emit(sock, BIG)
            expected = HOSTILE_BYTES + b"\xff\x0c\x00\x0c\xff" + BIG
            assert peer.raw_bytes(len(expected)) == expected


@pytest.mark.parametrize("version", ["14", "9"])
@pytest.mark.parametrize("transport", ["unix", "tcp4"])
def test_raw_node_server_python_clients(node, root, version, transport):
    """A node-ipc raw server echoing every chunk; two fastipc raw clients; a
    raw broadcast from Node reaches both."""
    config = {"rawBuffer": True, "encoding": NODE_RAW_ENCODING[version]}
    with (
        session(root, transport) as s,
        node_process(
            node,
            "modes_peer.mjs",
            peer_spec(root, s.endpoint, version, "server", echoRaw=True, config=config),
        ) as peer,
    ):
        peer.wait("start")
        got = Recorder()
        _, client, _ = s.client(
            rawBuffer=True, encoding="hex", setup=lambda c: got.watch(c, "data")
        )
        peer.wait("connect", clients=1)
        client.emit(HOSTILE_BYTES)
        client.emit("00ff0c")  # hex, by config.encoding
        client.emit(BIG)
        sent = HOSTILE_BYTES + b"\x00\xff\x0c" + BIG
        assert peer.raw_bytes(len(sent)) == sent
        got.wait_bytes(sent)  # the echo
        other = Recorder()
        s.client(rawBuffer=True, setup=lambda c: other.watch(c, "data"))
        peer.wait("connect", clients=2)
        peer.send(cmd="rawbroadcast", hex=HOSTILE_BYTES.hex())
        other.wait_bytes(HOSTILE_BYTES)
        got.wait_bytes(sent + HOSTILE_BYTES)


# ---------------------------------------------------------------- sync


@pytest.mark.parametrize("version", ["14", "9"])
def test_sync_client_against_node_server(node, root, version):
    """fastipc's sync client keeps one request in flight at a node-ipc server
    that answers each after a delay; nothing is lost or reordered."""
    count = 200
    with (
        session(root) as s,
        node_process(
            node, "modes_peer.mjs", peer_spec(root, s.endpoint, version, "server", replyDelay=2)
        ) as peer,
    ):
        peer.wait("start")
        got = Recorder()
        _, client, _ = s.client(sync=True, setup=lambda c: got.watch(c, "ack"))
        for i in range(count):
            client.emit("req", i)
        got.wait(lambda: len(got.of("ack")) == count, timeout=NODE_WAIT, what=f"{count} acks")
        assert [args[0] for args in got.of("ack")] == list(range(count))
        peer.send(cmd="report")
        report = peer.wait("report")
        assert report["received"] == list(range(count))
        assert report["maxInFlight"] == 1


@pytest.mark.parametrize("version", ["14", "9"])
def test_node_sync_client_against_python_server(node, root, version):
    """node-ipc's own sync client against a fastipc server: the same one
    request in flight, the parity check for the rule fastipc follows."""
    with session(root) as s:
        _, server, _ = s.server()
        answers = DelayedAnswers(server)
        spec = peer_spec(root, s.endpoint, version, "client", config={"sync": True})
        with node_process(node, "modes_peer.mjs", spec) as peer:
            peer.wait("connect")
            peer.send(cmd="burst", type="req", count=100)
            assert peer.events("ack", 100) == list(range(100))
        assert answers.received == list(range(100))
        assert answers.max_in_flight == 1


# ---------------------------------------------------------------- guarded


NODE_CASES = [
    c
    for c in HOSTILE
    if c[0]
    in (
        "bad-json",
        "json-array",
        "missing-type",
        "oversize-complete",
        "oversize-unfinished",
        "never-ends",
    )
]


@pytest.mark.parametrize(
    ("payload", "code"),
    [c[1:] for c in NODE_CASES] + [(None, "ERR_IPC_BACKPRESSURE")],
    ids=[c[0] for c in NODE_CASES] + ["never-reads"],
)
def test_guarded_server_node_hostile_and_node_client(node, root, payload, code):
    """A plain node:net peer breaks a rule; the guarded fastipc server closes
    it with the code while a node-ipc 14 client on it carries on."""
    with session(root) as s:
        _, server, events = s.server(
            **{**LIMITS, "maxPendingBytes": 256 * 1024, "maxMessageSize": 1 << 20}
            if payload is None
            else LIMITS
        )
        server.on("seq", lambda data, sock: sock.emit("seq", data))
        with node_process(
            node, "modes_peer.mjs", peer_spec(root, s.endpoint, "14", "client")
        ) as good:
            good.wait("connect")
            for i in range(10):
                good.send(cmd="emit", type="seq", data=i)
            assert good.events("seq", 10) == list(range(10))
            hostile_spec = {
                "role": "client",
                "path": server.path,
                "hex": (payload or b"").hex(),
                "read": payload is not None,
            }
            with node_process(node, "hostile.mjs", hostile_spec) as hostile:
                hostile.wait("connected")
                events.wait(lambda: len(events.of("connect")) == 2)
                for i in range(10, 20):
                    good.send(cmd="emit", type="seq", data=i)
                if payload is None:  # a reader that never reads
                    sock = events.of("connect")[1][0]
                    deadline = time.monotonic() + NODE_WAIT
                    while not sock.destroyed and time.monotonic() < deadline:
                        server.emit(sock, "bulk", "x" * 16384)
                events.wait(lambda: bool(events.of("error")))
                error = events.first("error")
                assert error.code == code, error
                if payload is not None:  # (a paused socket never reads the end)
                    hostile.wait("closed")
                events.wait(lambda: len(events.of("socket.disconnected")) == 1)
            for i in range(20, 30):
                good.send(cmd="emit", type="seq", data=i)
            assert good.events("seq", 20) == list(range(10, 30))
            assert not [line for line in good.seen if line["ev"] in ("error", "disconnect")]
            assert len(events.of("error")) == 1


@pytest.mark.parametrize(("payload", "code"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_node_guarded_server_reports_the_same_codes(node, root, payload, code):
    """The parity check: a node-ipc 14 guarded server with the same limits
    reports the same code for the same bytes as fastipc's does."""
    spec = peer_spec(root, Endpoint("unix", root), "14", "server", config=LIMITS)
    with node_process(node, "modes_peer.mjs", spec) as peer:
        peer.wait("start")
        hostile = RawPeer(root + "app.srv")
        try:
            peer.wait("connect")
            hostile.send(payload)
            assert peer.wait("error")["code"] == code
            assert hostile.read_until_closed() == b""
        finally:
            hostile.close()


def test_guarded_python_client_facing_a_node_hostile_server(node, root):
    """A plain node:net server sends a JSON array: the guarded fastipc client
    reports ERR_IPC_INVALID_MESSAGE, disconnects, is destroyed, and does not
    reconnect (node-ipc's protocolViolation rule)."""
    path = root + "evil"
    spec = {"role": "server", "path": path, "hex": (frame("seq", "1") + b"[1]\f").hex()}
    with node_process(node, "hostile.mjs", spec) as hostile:
        ipc = make_ipc(root, **LIMITS, retry=20)
        got = Recorder()
        ipc.connectTo(
            "evil",
            path,
            lambda: got.watch(ipc.of.evil, "connect", "seq", "error", "disconnect", "destroy"),
        )
        try:
            got.wait(lambda: bool(got.of("destroy")), timeout=NODE_WAIT)
            assert got.names() == ["connect", "seq", "error", "disconnect", "destroy"]
            assert got.first("error").code == "ERR_IPC_INVALID_MESSAGE"
            hostile.wait("closed", n=1)
            assert hostile.poll("connected", QUIET, n=2) is None  # no reconnect
        finally:
            ipc.disconnect("evil")
