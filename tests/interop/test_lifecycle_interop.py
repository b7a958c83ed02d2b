"""fastipc's lifecycle and runtime-config behaviour, side by side with node-ipc 14.

Each test runs one scenario twice with the same steps and config: once all
Node (``node/lifecycle.mjs``: a node-ipc 14 server and clients in one Node
process), once all Python (fastipc in one asyncio loop). Both record, per
party (``server``, ``c1``, ``c2``), the ordered events their handlers saw,
in the same notation (see the top of lifecycle.mjs), and the test asserts the
two records are equal. node-ipc's record is also compared with the one
written down here (read from node-ipc 14.0.0's services/IPC.js,
dao/client.js and dao/socketServer.js, and recorded), so a change on the
Node side shows as such rather than as a fastipc failure.

The facts pinned (node-ipc 14): one config object is shared by an ``IPC``,
its server and its clients, so ``stopRetrying``, ``retry`` and ``maxRetries``
set at run time act on the next close, timer or re-arm; the server reads
``maxConnections`` and ``unlink`` in ``start()`` (later changes do nothing)
and ``identifyPeer`` when ``serve()`` makes it;
``server.stop()`` reports ``close`` for every socket it destroys and no
``socket.disconnected``; ``ipc.disconnect(id)`` removes the client's handlers
first, so they see nothing of it.

Every wait is bounded (a wait that runs out is recorded under ``timeouts``
and the scenario goes on to its end); the only pauses are short windows in
which nothing more may happen (tests/helpers.py's QUIET on the Python side).
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from fastipc import IPC

from ..helpers import DEFAULT, NODE_DIR, QUIET, WAIT, Recorder, closed, make_ipc, stay_quiet
from ._node import NODE_WAIT

pytestmark = pytest.mark.interop

SERVER_ID = "srv"

Logs = dict[str, list[str]]


# ---------------------------------------------------------------- the Python side


def error_tag(exc: Any) -> str:
    """``error:<code>``: the errno name of an OSError, else a fastipc code."""
    code = None
    if isinstance(exc, OSError) and exc.errno in errno.errorcode:
        code = errno.errorcode[exc.errno]
    code = code or getattr(exc, "code", None) or type(exc).__name__
    return f"error:{code}"


class Run:
    """One scenario's parties and its event record, as lifecycle.mjs keeps it."""

    def __init__(self, socket_root: str) -> None:
        self.socket_root = socket_root
        self.logs: Logs = {}
        self.changes = Recorder()  # wakes the waits at every entry
        self.recording = True
        self.servers: list[IPC] = []
        self.clients: list[IPC] = []
        self.server_sockets: list[Any] = []  # the server's sockets, by tag number

    def record(self, party: str, entry: str) -> None:
        if self.recording:
            self.logs.setdefault(party, []).append(entry)
            self.changes.record(party, entry)

    def count(self, party: str, entry: str) -> int:
        return self.logs.get(party, []).count(entry)

    async def until(self, what: str, ready: Callable[[], bool], timeout: float = NODE_WAIT) -> bool:
        """Wait until ``ready()`` holds; record a wait that runs out."""
        try:
            await self.changes.until(ready, timeout, what)
        except AssertionError:
            self.record("timeouts", what)
            return False
        return True

    def make_ipc(self, **config: Any) -> IPC:
        # node-ipc's defaults, retry included: the Node side runs with them
        return make_ipc(self.socket_root + "/", appspace="lc.", **{"retry": DEFAULT, **config})

    def make_server(self, party: str = "server", **config: Any) -> IPC:
        """A server on socketRoot + appspace + 'srv'; serve() only: call start()."""
        ipc = self.make_ipc(id=SERVER_ID, **config)
        tags: dict[int, str] = {}

        def tag(sock: Any) -> str:
            return tags.get(id(sock), "?")

        def connected(sock: Any) -> None:
            tags[id(sock)] = f"s{len(tags)}"
            self.server_sockets.append(sock)
            self.record(party, f"connect:{tag(sock)}")

        server = ipc.serve(lambda: None)
        server.on("start", lambda *args: self.record(party, "start"))
        server.on("connect", connected)
        server.on("close", lambda sock: self.record(party, f"close:{tag(sock)}"))
        server.on(
            "socket.disconnected",
            lambda sock, sid: self.record(
                party, f"socket.disconnected:{tag(sock)}:{json.dumps(sid)}"
            ),
        )
        server.on("error", lambda exc, *rest: self.record(party, error_tag(exc)))
        server.on("hello", lambda data, sock: self.record(party, f"hello:{tag(sock)}"))
        self.servers.append(ipc)
        return ipc

    def make_client(
        self,
        name: str,
        on_event: Callable[[str, IPC], None] | None = None,
        on_connect_to: Callable[[IPC], None] | None = None,
        **config: Any,
    ) -> IPC:
        """A client ``name`` connecting to 'srv'; ``on_event(entry, ipc)`` runs
        after each of its events is recorded."""
        ipc = self.make_ipc(**config)
        self.clients.append(ipc)

        def log(entry: str) -> None:
            self.record(name, entry)
            if on_event is not None:
                on_event(entry, ipc)

        def callback() -> None:
            client = ipc.of[SERVER_ID]
            client.on("connect", lambda: log("connect"))
            client.on("disconnect", lambda: log("disconnect"))
            client.on("destroy", lambda: log("destroy"))
            client.on("error", lambda exc: log(error_tag(exc)))
            if on_connect_to is not None:
                on_connect_to(ipc)

        ipc.connectTo(SERVER_ID, callback)
        return ipc

    async def start_server(self, **config: Any) -> IPC:
        ipc = self.make_server(**config)
        assert ipc.server is not None
        ipc.server.start()
        await self.until("server start", lambda: self.count("server", "start") >= 1)
        return ipc

    async def connect_client(self, name: str, server_connects: int, **kwargs: Any) -> IPC:
        ipc = self.make_client(name, **kwargs)
        await self.until(f"{name} connect", lambda: self.count(name, "connect") >= 1)
        await self.until(
            f"server connect {server_connects}",
            lambda: (
                sum(e.startswith("connect:") for e in self.logs.get("server", []))
                >= server_connects
            ),
        )
        return ipc

    def destroyed_or(self, party: str, limit: int) -> Callable[[], bool]:
        return lambda: self.count(party, "destroy") >= 1 or self.count(party, "disconnect") >= limit

    async def close(self) -> None:
        """Stop recording, then close every server and client and wait for it."""
        self.recording = False
        for ipc in self.clients:
            client = ipc.of.get(SERVER_ID)
            ipc.disconnect(SERVER_ID)
            if client is not None:
                await closed(client)
        for ipc in self.servers:
            if ipc.server is not None:
                ipc.server.stop()
                await closed(ipc.server)


# The scenarios, step for step as in lifecycle.mjs.


async def stop_with_two_clients(run: Run) -> None:
    server = await run.start_server()
    await run.connect_client("c1", 1, retry=50, maxRetries=2)
    await run.connect_client("c2", 2, retry=50, maxRetries=2)
    assert server.server is not None
    server.server.stop()
    await run.until("c1 destroy", run.destroyed_or("c1", 10))
    await run.until("c2 destroy", run.destroyed_or("c2", 10))
    await stay_quiet()


async def retry_exhaustion(run: Run) -> None:
    run.make_client("c1", retry=20, maxRetries=2)
    await run.until("c1 destroy", run.destroyed_or("c1", 10))
    await stay_quiet()


async def stop_retrying_at_runtime(run: Run) -> None:
    def on_event(entry: str, ipc: IPC) -> None:
        if entry == "disconnect" and run.count("c1", "disconnect") == 3:
            ipc.config.stopRetrying = True

    run.make_client("c1", on_event=on_event, retry=20)
    await run.until("c1 destroy", run.destroyed_or("c1", 10))
    await stay_quiet()


async def max_retries_at_runtime(run: Run) -> None:
    server = await run.start_server()

    def on_connect_to(ipc: IPC) -> None:
        ipc.config.maxRetries = 3

    await run.connect_client("c1", 1, on_connect_to=on_connect_to, retry=20, maxRetries=1)
    assert server.server is not None
    server.server.stop()
    await run.until("c1 destroy", run.destroyed_or("c1", 10))
    await stay_quiet()


async def retry_at_runtime(run: Run) -> None:
    def on_event(entry: str, ipc: IPC) -> None:
        if entry == "disconnect" and run.count("c1", "disconnect") == 1:
            ipc.config.retry = 600000

    run.make_client("c1", on_event=on_event, retry=20, maxRetries=5)
    await run.until("c1 two errors", lambda: run.count("c1", "error:ENOENT") >= 2)
    await stay_quiet()  # a third attempt 20 ms on would show here


async def max_connections_before_start(run: Run) -> None:
    server = run.make_server()
    server.config.maxConnections = 1
    assert server.server is not None
    server.server.start()
    await run.until("server start", lambda: run.count("server", "start") >= 1)
    await run.connect_client("c1", 1)
    run.make_client("c2", maxRetries=0)
    await run.until("c2 destroy", run.destroyed_or("c2", 10))
    await stay_quiet()


async def max_connections_after_start(run: Run) -> None:
    server = await run.start_server(maxConnections=1)
    server.config.maxConnections = 5
    await run.connect_client("c1", 1)
    run.make_client("c2", maxRetries=0)
    await run.until("c2 destroy", run.destroyed_or("c2", 10))
    await stay_quiet()


async def stop_retrying_while_connected(run: Run) -> None:
    server = await run.start_server()
    client = await run.connect_client("c1", 1, retry=20)
    client.config.stopRetrying = True
    assert server.server is not None
    server.server.stop()
    await run.until("c1 destroy", run.destroyed_or("c1", 10))
    await stay_quiet()


async def identify_peer_after_serve(run: Run) -> None:
    server = run.make_server()
    server.config.identifyPeer = True
    assert server.server is not None
    server.server.start()
    await run.until("server start", lambda: run.count("server", "start") >= 1)
    client = await run.connect_client("c1", 1)
    client.of[SERVER_ID].emit("hello", {"id": "c1"})
    await run.until("server hello", lambda: run.count("server", "hello:s0") >= 1)
    client.disconnect(SERVER_ID)
    await run.until("server close", lambda: run.count("server", "close:s0") >= 1)
    await stay_quiet()


async def unlink_at_start(run: Run) -> None:
    await run.start_server()
    second = run.make_server("server2")
    second.config.unlink = False
    assert second.server is not None
    second.server.start()
    await run.until("server2 error", lambda: len(run.logs.get("server2", [])) >= 1)
    await stay_quiet()


async def server_destroys_socket(run: Run) -> None:
    await run.start_server()
    await run.connect_client("c1", 1, retry=20)
    run.server_sockets[0].destroy()
    await run.until("c1 reconnect", lambda: run.count("c1", "connect") >= 2)
    await run.until("server second connect", lambda: run.count("server", "connect:s1") >= 1)
    await stay_quiet()


async def disconnect_while_connected(run: Run) -> None:
    await run.start_server()
    client = await run.connect_client("c1", 1, retry=50)
    client.disconnect(SERVER_ID)
    await run.until("server close", lambda: run.count("server", "close:s0") >= 1)
    await stay_quiet()


async def disconnect_while_retrying(run: Run) -> None:
    client = run.make_client("c1", retry=300)
    await run.until("c1 disconnect", lambda: run.count("c1", "disconnect") >= 1)
    client.disconnect(SERVER_ID)
    await run.start_server()
    await stay_quiet(0.3 + QUIET)  # > retry: a retry would reach the server now


async def server_restart(run: Run) -> None:
    server = await run.start_server()
    await run.connect_client("c1", 1, retry=300, maxRetries=2)
    assert server.server is not None
    server.server.stop()
    await run.until("c1 first failed retry", lambda: run.count("c1", "error:ENOENT") >= 1)
    server.server.start()
    await run.until("c1 reconnect", lambda: run.count("c1", "connect") >= 2)
    await run.until("server second connect", lambda: run.count("server", "connect:s1") >= 1)
    server.server.stop()
    await run.until("c1 destroy", run.destroyed_or("c1", 10))
    await stay_quiet()


SCENARIOS: dict[str, Callable[[Run], Awaitable[None]]] = {
    f.__name__: f
    for f in (
        stop_with_two_clients,
        retry_exhaustion,
        stop_retrying_at_runtime,
        max_retries_at_runtime,
        retry_at_runtime,
        max_connections_before_start,
        max_connections_after_start,
        stop_retrying_while_connected,
        identify_peer_after_serve,
        unlink_at_start,
        server_destroys_socket,
        disconnect_while_connected,
        disconnect_while_retrying,
        server_restart,
    )
}


async def run_python(name: str, socket_root: str) -> Logs:
    run = Run(socket_root)
    try:
        await SCENARIOS[name](run)
    finally:
        await run.close()
    return run.logs


# ---------------------------------------------------------------- the comparison


@pytest.fixture
def roots() -> Iterator[tuple[str, str]]:
    """Fresh private socket roots (short paths under /tmp) for Node and Python."""
    base = tempfile.mkdtemp(prefix="lc", dir="/tmp")
    try:
        yield os.path.join(base, "n"), os.path.join(base, "p")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_node(node: os.PathLike[str], name: str, socket_root: str) -> Logs:
    out = subprocess.run(
        [os.fspath(node), str(NODE_DIR / "lifecycle.mjs"), name, socket_root],
        capture_output=True,
        text=True,
        timeout=12 * WAIT,
    )
    assert out.returncode == 0, f"lifecycle.mjs {name}: rc={out.returncode} {out.stderr[-2000:]}"
    logs: Logs = json.loads(out.stdout.strip().splitlines()[-1])["logs"]
    return logs


def compare(
    node: os.PathLike[str],
    roots: tuple[str, str],
    name: str,
    expected: Logs,
    normalise: Callable[[Logs], Logs] = lambda logs: logs,
) -> None:
    """Run ``name`` in Node and in Python; node-ipc's record must be
    ``expected`` and fastipc's must equal node-ipc's."""
    node_logs = normalise(run_node(node, name, roots[0]))
    assert node_logs == expected, f"node-ipc 14 no longer does what was recorded: {node_logs}"
    py_logs = normalise(asyncio.run(run_python(name, roots[1])))
    assert py_logs == node_logs, (
        f"fastipc differs from node-ipc 14 in {name}:\n"
        f"  node-ipc: {json.dumps(node_logs)}\n"
        f"  fastipc:  {json.dumps(py_logs)}"
    )


def closes_unordered(logs: Logs) -> Logs:
    """The server's trailing ``close`` events, sorted.

    node-ipc's ``server.stop()`` destroys its sockets in connection order, but
    libuv runs close callbacks last-closed first, so Node reports ``close:s1``
    before ``close:s0``; that order is libuv's, not a contract, so only which
    sockets report ``close`` is compared.
    """
    server = logs.get("server", [])
    head = len(server)
    while head and server[head - 1].startswith("close:"):
        head -= 1
    return {**logs, "server": server[:head] + sorted(server[head:])}


# client events while a retry fails against a missing socket file
FAIL = ["error:ENOENT", "disconnect"]


def test_stop_with_two_clients(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """``server.stop()`` with two clients connected: the server reports ``close``
    for each socket and no ``socket.disconnected``; each client sees
    ``disconnect``, its retries fail, and it ends with ``destroy``."""
    client = ["connect", "disconnect", *FAIL, *FAIL, "destroy"]
    expected = {
        "server": ["start", "connect:s0", "connect:s1", "close:s0", "close:s1"],
        "c1": client,
        "c2": client,
    }
    compare(node, roots, "stop_with_two_clients", expected, closes_unordered)


def test_retry_exhaustion(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """No server, ``maxRetries=2``: the first attempt and two retries fail,
    each with ``error`` then ``disconnect``, and ``destroy`` follows the last."""
    expected = {"c1": [*FAIL, *FAIL, *FAIL, "destroy"]}
    compare(node, roots, "retry_exhaustion", expected)


def test_stop_retrying_at_runtime(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """``ipc.config.stopRetrying = True`` in the 3rd ``disconnect`` handler (after
    ``connectTo``) stops the retries: the pending timer ends in ``destroy``,
    with no further ``disconnect``."""
    expected = {"c1": [*FAIL, *FAIL, *FAIL, "destroy"]}
    compare(node, roots, "stop_retrying_at_runtime", expected)


def test_max_retries_at_runtime(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """``maxRetries`` raised from 1 to 3 in the ``connectTo`` callback: the
    ``connect`` re-arms the budget with 3, so after ``server.stop()`` three
    retries fail before ``destroy``."""
    expected = {
        "server": ["start", "connect:s0", "close:s0"],
        "c1": ["connect", "disconnect", *FAIL, *FAIL, *FAIL, "destroy"],
    }
    compare(node, roots, "max_retries_at_runtime", expected)


def test_retry_at_runtime(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """``retry`` set to 600000 in the 1st ``disconnect`` handler: that timer was
    armed with 20 ms, the next one with 600 s, so 1.5 s after the second
    failure there is still no third (``maxRetries=5`` would allow it)."""
    expected = {"c1": [*FAIL, *FAIL]}
    compare(node, roots, "retry_at_runtime", expected)


def test_max_connections_before_start(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """``maxConnections = 1`` set after ``serve()`` and before ``start()`` limits
    the server: the second client connects, is closed at once without a server
    event, and (``maxRetries=0``) ends with ``disconnect`` and ``destroy``."""
    expected = {
        "server": ["start", "connect:s0"],
        "c1": ["connect"],
        "c2": ["connect", "disconnect", "destroy"],
    }
    compare(node, roots, "max_connections_before_start", expected)


def test_max_connections_after_start(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """``maxConnections`` raised from 1 to 5 after ``start()`` does nothing in
    node-ipc 14 (it copies the value into the listening ``net.Server`` once):
    the second client is still refused."""
    expected = {
        "server": ["start", "connect:s0"],
        "c1": ["connect"],
        "c2": ["connect", "disconnect", "destroy"],
    }
    compare(node, roots, "max_connections_after_start", expected)


def test_stop_retrying_while_connected(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """``stopRetrying`` set while connected: the close that ``server.stop()``
    causes is final, ``disconnect`` then ``destroy`` with no retry."""
    expected = {
        "server": ["start", "connect:s0", "close:s0"],
        "c1": ["connect", "disconnect", "destroy"],
    }
    compare(node, roots, "stop_retrying_while_connected", expected)


def test_identify_peer_after_serve(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """``identifyPeer`` set after ``serve()`` does nothing (node-ipc picks its
    dispatcher when the server is made; set before, the id here would be
    ``"c1"``): ``socket.disconnected`` reports id ``false``."""
    expected = {
        "server": ["start", "connect:s0", "hello:s0", "socket.disconnected:s0:false", "close:s0"],
        "c1": ["connect"],
    }
    compare(node, roots, "identify_peer_after_serve", expected)


def test_unlink_at_start(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """``unlink = False`` set after ``serve()`` and before ``start()`` is read by
    ``start()``: a second server on the path of a live one reports
    ``error`` (EADDRINUSE) instead of removing the socket and taking over."""
    expected = {"server": ["start"], "server2": ["error:EADDRINUSE"]}
    compare(node, roots, "unlink_at_start", expected)


def test_server_destroys_socket(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """The server destroys one client's socket: the server reports
    ``socket.disconnected`` then ``close``; the client sees ``disconnect``,
    retries and connects again."""
    expected = {
        "server": ["start", "connect:s0", "socket.disconnected:s0:false", "close:s0", "connect:s1"],
        "c1": ["connect", "disconnect", "connect"],
    }
    compare(node, roots, "server_destroys_socket", expected)


def test_disconnect_while_connected(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """``ipc.disconnect(id)`` while connected: the client's handlers see nothing
    (node-ipc removes them first); the server reports ``socket.disconnected``
    (id ``false``) and then ``close``."""
    expected = {
        "server": ["start", "connect:s0", "socket.disconnected:s0:false", "close:s0"],
        "c1": ["connect"],
    }
    compare(node, roots, "disconnect_while_connected", expected)


def test_disconnect_while_retrying(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """``ipc.disconnect(id)`` between two attempts: no further event reaches the
    client's handlers, and no retry follows (a server started afterwards sees
    no connection within more than ``retry``)."""
    expected = {"c1": FAIL, "server": ["start"]}
    compare(node, roots, "disconnect_while_retrying", expected)


def test_server_restart(node: os.PathLike[str], roots: tuple[str, str]) -> None:
    """The server stops and starts again while a client (``maxRetries=2``)
    retries: one retry fails, the next connects, and that ``connect`` re-arms
    the budget, so after the second stop two retries fail before ``destroy``."""
    expected = {
        "server": ["start", "connect:s0", "close:s0", "start", "connect:s1", "close:s1"],
        "c1": ["connect", "disconnect", *FAIL, "connect", "disconnect", *FAIL, *FAIL, "destroy"],
    }
    compare(node, roots, "server_restart", expected)
