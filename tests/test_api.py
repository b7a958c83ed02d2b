"""The node-ipc API over real Unix sockets and TCP, inside a running loop
(asyncio and uvloop) and from plain code (the background loop thread)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from fastipc import (
    IPC,
    IPCNotConnectedError,
    IPCProtocolError,
    SocketRootError,
    UnlinkNotSocketError,
)

from .conftest import ROOT

TIMEOUT = 10


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request) -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    """Run an async test body on plain asyncio or on uvloop."""
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")

        def runner(body):
            return uvloop.run(asyncio.wait_for(body(), 30))

    else:

        def runner(body):
            return asyncio.run(asyncio.wait_for(body(), 30))

    return runner


@pytest.fixture
def root():
    """A short private socket root (Unix paths are limited to 107 bytes)."""
    with tempfile.TemporaryDirectory(prefix="fipc", dir="/tmp") as path:
        yield path + "/"


def make_ipc(root: str, **config: Any) -> IPC:
    ipc = IPC()
    ipc.config.silent = True
    ipc.config.socketRoot = root
    ipc.config.retry = 30
    for key, value in config.items():
        ipc.config[key] = value
    return ipc


class Events:
    """Collects (event, args) from handlers on the loop thread."""

    def __init__(self) -> None:
        self.items: list[tuple[str, tuple[Any, ...]]] = []
        self.changed = threading.Condition()

    def handler(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            with self.changed:
                self.items.append((name, args))
                self.changed.notify_all()

        return record

    def watch(self, emitter: Any, *names: str) -> Events:
        for name in names:
            emitter.on(name, self.handler(name))
        return self

    def names(self) -> list[str]:
        return [n for n, _ in self.items]

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [a for n, a in self.items if n == name]

    async def until(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; events so far: {self.names()}")
            await asyncio.sleep(0.005)

    def wait(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                raise AssertionError(f"timed out; events so far: {self.names()}")


def free_port(family: int = socket.AF_INET) -> int:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- basics


def test_hello_world_by_id(run, root):
    async def body():
        server_ipc = make_ipc(root, id="world")
        server_events = Events()

        def started():
            server_events.watch(server_ipc.server, "connect", "socket.disconnected")

            @server_ipc.server.on("message")
            def message(data, sock):
                server_ipc.server.emit(sock, "message", data + " world!")

        server = server_ipc.serve(started)
        assert server.path == root + "app.world"
        server.start()
        await server.wait_started()
        assert stat.S_ISSOCK(os.stat(root + "app.world").st_mode)

        client_ipc = make_ipc(root, id="hello")
        got = Events()

        def connecting():
            got.watch(client_ipc.of.world, "connect", "message")
            client_ipc.of.world.on("connect", lambda: client_ipc.of.world.emit("message", "hello"))

        client_ipc.connectTo("world", connecting)
        await client_ipc.of["world"].wait_connected()
        await got.until(lambda: got.of("message"))
        assert got.of("message") == [("hello world!",)]
        assert got.names()[0] == "connect"
        assert len(server_events.of("connect")) == 1
        client_ipc.disconnect("world")
        await server_events.until(lambda: server_events.of("socket.disconnected"))
        server.stop()
        await server.wait_closed()
        assert not os.path.exists(root + "app.world")

    run(body)


@pytest.mark.parametrize("family", ["IPv4", "IPv6"])
def test_tcp(run, family):
    host = "127.0.0.1" if family == "IPv4" else "::1"
    port = free_port(socket.AF_INET if family == "IPv4" else socket.AF_INET6)

    async def body():
        server_ipc = make_ipc("/tmp/")
        peers = []

        def started():
            @server_ipc.server.on("ping")
            def ping(data, sock):
                peers.append((sock.remoteAddress, sock.remotePort, sock.remoteFamily))
                sock.emit("pong", data)

        server_ipc.serveNet(host, port, started)
        server_ipc.server.start()
        await server_ipc.server.wait_started()
        client_ipc = make_ipc("/tmp/")
        got = Events()
        client_ipc.connectToNet("srv", host, port, lambda: got.watch(client_ipc.of.srv, "pong"))
        client_ipc.of.srv.emit("ping", {"n": 1, "s": "é"})
        await got.until(lambda: got.of("pong"))
        assert got.of("pong") == [({"n": 1, "s": "é"},)]
        assert peers[0][0] == host and peers[0][2] == family and isinstance(peers[0][1], int)
        client_ipc.disconnect("srv")
        server_ipc.server.stop()
        await server_ipc.server.wait_closed()

    run(body)


def test_argument_overloading(root):
    ipc = make_ipc(root, id="me", networkPort=3435, maxRetries=0)
    marker = []
    server = ipc.serveNet(lambda: marker.append(1))
    assert (server.path, server.port) == ("127.0.0.1", 3435)
    server = ipc.serveNet(5000, lambda: None)
    assert (server.path, server.port) == ("127.0.0.1", 5000)
    server = ipc.serveNet("::1", 5001, lambda: None)
    assert (server.path, server.port) == ("::1", 5001)
    server = ipc.serveNet("localhost")
    assert (server.path, server.port) == ("localhost", 3435)
    server = ipc.serve(lambda: None)
    assert server.path == root + "app.me"
    server = ipc.serve(root + "x.sock")
    assert server.path == root + "x.sock"
    server = ipc.serve_net(7000)
    assert server.port == 7000

    calls = []
    client = ipc.connectToNet("a", 3436, lambda: calls.append("a"))
    assert (client.path, client.port) == ("127.0.0.1", 3436)
    client = ipc.connectToNet("b", "localhost", 3437)
    assert (client.path, client.port) == ("localhost", 3437)
    client = ipc.connect_to_net("c", lambda: calls.append("c"))
    assert (client.path, client.port) == ("127.0.0.1", 3435)
    client = ipc.connectTo("d", lambda ipc_: calls.append(ipc_))
    assert client.path == root + "app.d"
    client = ipc.connect_to("e", root + "e.sock")
    assert client.path == root + "e.sock"
    assert calls[:2] == ["a", "c"] and calls[2] is ipc
    for name in "abcde":
        ipc.disconnect(name)
    assert len(ipc.of) == 0


# ---------------------------------------------------------------- server


def test_broadcast_identify_peer_and_socket_disconnected(run, root):
    async def body():
        server_ipc = make_ipc(root, id="hub", identifyPeer=True)
        events = Events()
        server = server_ipc.serve()
        events.watch(server, "hello", "socket.disconnected")
        server.start()
        await server.wait_started()
        clients = []
        inbox = Events()
        for name in ("w1", "w2", "w3"):
            c = make_ipc(root, id=name)
            c.connectTo("hub", lambda c=c, name=name: c.of.hub.on("news", inbox.handler(name)))
            c.of.hub.emit("hello", {"id": name})
            clients.append(c)
        await events.until(lambda: len(events.of("hello")) == 3)
        assert sorted(sock.id for _, sock in events.of("hello")) == ["w1", "w2", "w3"]
        assert server.broadcast("news", [1, "two"])
        await inbox.until(lambda: len(inbox.items) == 3)
        assert sorted(inbox.names()) == ["w1", "w2", "w3"]
        assert all(args == ([1, "two"],) for _, args in inbox.items)
        clients[1].disconnect("hub")
        await events.until(lambda: events.of("socket.disconnected"))
        sock, gone_id = events.of("socket.disconnected")[0]
        assert gone_id == "w2" and sock.destroyed
        assert len(server.sockets) == 2
        for c in (clients[0], clients[2]):
            c.disconnect("hub")
        server.stop()
        await server.wait_closed()

    run(body)


def test_max_connections(run, root):
    async def body():
        server_ipc = make_ipc(root, id="small", maxConnections=2)
        events = Events()
        server = server_ipc.serve()
        events.watch(server, "connect", "hi")
        server.on("hi", lambda data, sock: sock.emit("hi", data))
        server.start()
        await server.wait_started()
        clients = [make_ipc(root, maxRetries=0) for _ in range(3)]
        replies = Events()
        for i, c in enumerate(clients[:2]):
            c.connectTo("small", lambda c=c, i=i: replies.watch(c.of.small, "hi", "destroy"))
            await c.of.small.wait_connected()
        await events.until(lambda: len(events.of("connect")) == 2)
        third = Events()
        clients[2].connectTo("small", lambda: third.watch(clients[2].of.small, "connect", "disconnect", "destroy"))
        await third.until(lambda: third.of("destroy"))
        assert len(server.sockets) == 2
        for i, c in enumerate(clients[:2]):
            c.of.small.emit("hi", i)
        await replies.until(lambda: len(replies.of("hi")) == 2)
        assert sorted(a[0] for a in replies.of("hi")) == [0, 1]
        assert len(events.of("connect")) == 2
        for c in clients[:2]:
            c.disconnect("small")
        server.stop()
        await server.wait_closed()

    run(body)


def test_handler_error_is_reported_and_connection_survives(run, root, caplog):
    async def body():
        server_ipc = make_ipc(root, id="fragile")
        errors = Events()
        server = server_ipc.serve()
        seen = []

        @server.on("job")
        def job(data, sock):
            if data == "boom":
                raise RuntimeError("handler failed")
            seen.append(data)
            sock.emit("done", data)

        errors.watch(server, "error")
        server.start()
        await server.wait_started()
        client_ipc = make_ipc(root)
        done = Events()
        client_ipc.connectTo("fragile", lambda: done.watch(client_ipc.of.fragile, "done"))
        for item in ("a", "boom", "b"):
            client_ipc.of.fragile.emit("job", item)
        await done.until(lambda: len(done.of("done")) == 2)
        assert seen == ["a", "b"]
        assert isinstance(errors.of("error")[0][0], RuntimeError)
        client_ipc.disconnect("fragile")
        server.stop()
        await server.wait_closed()

    with caplog.at_level(logging.ERROR, logger="fastipc"):
        run(body)
    assert any("handler failed" in r.getMessage() for r in caplog.records)


def test_protocol_error_closes_only_that_connection(run, root):
    async def body():
        server_ipc = make_ipc(root, id="strict", parser="guarded")
        events = Events()
        server = server_ipc.serve()
        events.watch(server, "error", "ok", "socket.disconnected")
        server.on("ok", lambda data, sock: sock.emit("ok", data))
        server.start()
        await server.wait_started()
        good = make_ipc(root)
        replies = Events()
        good.connectTo("strict", lambda: replies.watch(good.of.strict, "ok"))
        await good.of.strict.wait_connected()
        reader, writer = await asyncio.open_unix_connection(root + "app.strict")
        writer.write(b'{"type":"ok","data":1}\f[1,2]\f')
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b'{"type":"ok","data":1}\f'
        writer.close()
        await events.until(lambda: events.of("error") and events.of("socket.disconnected"))
        error = events.of("error")[0][0]
        assert isinstance(error, IPCProtocolError) and error.code == "ERR_IPC_INVALID_MESSAGE"
        good.of.strict.emit("ok", 2)
        await replies.until(lambda: replies.of("ok"))
        assert replies.of("ok") == [(2,)]
        good.disconnect("strict")
        server.stop()
        await server.wait_closed()

    run(body)


# ---------------------------------------------------------------- lifecycle


def test_reconnects_after_server_restart_and_rearms(run, root):
    async def body():
        # two retries 200 ms apart: room for a restart; without re-arming on
        # each connect the budget would be spent by the third round
        client_ipc = make_ipc(root, maxRetries=2, retry=200)
        events = Events()
        client_ipc.connectTo("phoenix", lambda: events.watch(client_ipc.of.phoenix, "connect", "disconnect", "destroy", "back"))
        for round_ in range(3):
            server_ipc = make_ipc(root, id="phoenix")
            server = server_ipc.serve()
            server.on("connect", lambda sock, r=round_: sock.emit("back", r))
            server.start()
            await server.wait_started()
            await events.until(lambda r=round_: len(events.of("back")) == r + 1, timeout=5)
            before = len(events.of("disconnect"))
            server.stop()
            await server.wait_closed()
            await events.until(lambda n=before: len(events.of("disconnect")) > n)
        assert events.of("back") == [(0,), (1,), (2,)]
        assert not events.of("destroy")
        client = client_ipc.of.phoenix
        client_ipc.disconnect("phoenix")
        await client.wait_closed()
        # as in node-ipc, a disconnect you asked for reaches no handler
        assert events.names().count("destroy") == 0 and client.destroyed

    run(body)


def test_max_retries_then_destroy(run, root):
    async def body():
        client_ipc = make_ipc(root, maxRetries=2, retry=20)
        events = Events()
        client_ipc.connectTo("nobody", lambda: events.watch(client_ipc.of.nobody, "error", "disconnect", "destroy"))
        await events.until(lambda: events.of("destroy"))
        await asyncio.sleep(0.1)
        assert events.names().count("error") == 3  # first try and two retries
        assert events.names().count("disconnect") == 3
        assert events.names()[-1] == "destroy" and events.names().count("destroy") == 1
        assert isinstance(events.of("error")[0][0], OSError)
        with pytest.raises(IPCNotConnectedError):
            client_ipc.of.nobody.emit("x")
        with pytest.raises(IPCNotConnectedError):
            await client_ipc.of.nobody.wait_connected()

    run(body)


def test_stop_retrying(run, root):
    async def body():
        client_ipc = make_ipc(root, stopRetrying=True)
        events = Events()
        client_ipc.connectTo("nobody", lambda: events.watch(client_ipc.of.nobody, "error", "disconnect", "destroy"))
        await events.until(lambda: events.of("destroy"))
        await asyncio.sleep(0.1)
        assert events.names() == ["error", "disconnect", "destroy"]

    run(body)


def test_disconnect_during_retry_is_final(run, root):
    async def body():
        client_ipc = make_ipc(root, retry=20)
        events = Events()
        client_ipc.connectTo("later", lambda: events.watch(client_ipc.of.later, "connect", "error", "disconnect", "destroy"))
        await events.until(lambda: len(events.of("error")) >= 2)
        client = client_ipc.of.later
        seen = len(events.items)
        client_ipc.disconnect("later")
        assert "later" not in client_ipc.of
        await client.wait_closed()
        assert client.destroyed and len(events.items) == seen  # no event of its own
        # a server appearing now is not reached: no retry follows
        server_ipc = make_ipc(root, id="later")
        server_ipc.serve().start()
        await server_ipc.server.wait_started()
        await asyncio.sleep(0.2)
        assert not events.of("connect") and client.destroyed
        server_ipc.server.stop()
        await server_ipc.server.wait_closed()

    run(body)


def test_connect_to_again_runs_callback_and_changes_nothing(run, root):
    async def body():
        server_ipc = make_ipc(root, id="once")
        server_ipc.serve().start()
        await server_ipc.server.wait_started()
        client_ipc = make_ipc(root)
        first = client_ipc.connectTo("once")
        await first.wait_connected()
        calls = []
        again = client_ipc.connectTo("once", lambda: calls.append(1))
        assert again is first and calls == [1] and client_ipc.of.once is first
        client_ipc.disconnect("once")
        server_ipc.server.stop()
        await server_ipc.server.wait_closed()

    run(body)


def test_emits_before_connect_are_sent_in_order(run, root):
    async def body():
        client_ipc = make_ipc(root, retry=20)
        client_ipc.connectTo("late")
        for i in range(100):
            client_ipc.of.late.emit("n", i)
        await asyncio.sleep(0.1)  # a few failed attempts meanwhile
        server_ipc = make_ipc(root, id="late")
        got = Events()
        server = server_ipc.serve()
        got.watch(server, "n")
        server.start()
        await got.until(lambda: len(got.of("n")) == 100)
        assert [a[0] for a in got.of("n")] == list(range(100))
        client_ipc.disconnect("late")
        server.stop()
        await server.wait_closed()

    run(body)


# ---------------------------------------------------------------- socket files


def test_unlink_and_socket_root_rules(root):
    ipc = make_ipc(root + "sub/", id="svc")
    path = root + "sub/app.svc"
    os.makedirs(root + "sub", mode=0o755)
    os.chmod(root + "sub", 0o755)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # a stale socket file stays behind
    server = ipc.serve()
    server.start()  # removes the stale socket, tightens the root to 0700
    try:
        assert stat.S_IMODE(os.stat(root + "sub").st_mode) == 0o700
        assert server.listening
    finally:
        server.stop()
    with open(path, "w") as fh:
        fh.write("not a socket")
    with pytest.raises(UnlinkNotSocketError) as info:
        ipc.serve().start()
    assert info.value.code == "ERR_IPC_UNLINK_NOT_SOCKET"
    assert os.path.exists(path)


def test_socket_root_symlink_refused(root):
    os.mkdir(root + "real")
    os.symlink(root + "real", root + "link")
    ipc = make_ipc(root + "link/", id="svc")
    with pytest.raises(SocketRootError) as info:
        ipc.serve().start()
    assert info.value.code == "ERR_IPC_SOCKET_ROOT"
    ipc.config.secureSocketRoot = False
    server = ipc.serve()
    server.start()
    server.stop()


def test_unlink_false_keeps_a_live_socket(root):
    first = make_ipc(root, id="shared")
    first.serve().start()
    try:
        second = make_ipc(root, id="shared", unlink=False)
        with pytest.raises(OSError):
            second.serve().start()
        assert first.server.listening
    finally:
        first.server.stop()


@pytest.mark.parametrize(("readable", "writable", "bits"), [(True, False, 0o444), (False, True, 0o222), (True, True, 0o666)])
def test_readable_writable_all(root, readable, writable, bits):
    ipc = make_ipc(root, id="perm", readableAll=readable, writableAll=writable)
    ipc.serve().start()
    try:
        assert stat.S_IMODE(os.stat(root + "app.perm").st_mode) & bits == bits
    finally:
        ipc.server.stop()


# ---------------------------------------------------------------- threads


def test_background_thread_callbacks_before_events(root):
    """connectTo's callback runs before any event, even when it is slow."""
    server_ipc = make_ipc(root, id="quick")
    server_ipc.serve().start()
    client_ipc = make_ipc(root)
    events = Events()

    def slow_callback():
        time.sleep(0.3)  # the server is up: a connect would be lost if dispatched now
        events.watch(client_ipc.of.quick, "connect")

    try:
        client_ipc.connectTo("quick", slow_callback)
        events.wait(lambda: events.of("connect"))
        assert threading.current_thread() is threading.main_thread()
    finally:
        client_ipc.disconnect("quick")
        server_ipc.server.stop()


def test_emit_from_many_threads(root):
    server_ipc = make_ipc(root, id="many")
    got = Events()
    server = server_ipc.serve()
    got.watch(server, "n")
    loop_threads = set()
    server.on("n", lambda data, sock: loop_threads.add(threading.get_ident()))
    server.start()
    client_ipc = make_ipc(root)
    client_ipc.connectTo("many")
    try:
        def produce(k: int) -> None:
            for i in range(2000):
                client_ipc.of.many.emit("n", [k, i])

        threads = [threading.Thread(target=produce, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        got.wait(lambda: len(got.of("n")) == 8000, timeout=30)
        for k in range(4):
            assert [a[0][1] for a in got.of("n") if a[0][0] == k] == list(range(2000))
        assert len(loop_threads) == 1 and threading.get_ident() not in loop_threads
    finally:
        client_ipc.disconnect("many")
        server.stop()


def test_backpressure_pauses_a_producer_thread(root):
    """A peer that does not read pauses the sender; nothing is dropped."""
    server_ipc = make_ipc(root, id="slow")
    conns = Events()
    server = server_ipc.serve()
    conns.watch(server, "connect")
    server.start()
    peer = socket.socket(socket.AF_UNIX)
    peer.connect(root + "app.slow")
    try:
        conns.wait(lambda: conns.of("connect"))
        (sock,) = conns.of("connect")[0]
        payload = "x" * 1000
        count = 20_000  # 20 MB: far more than socket buffers hold
        done = threading.Event()
        peak = []

        def produce() -> None:
            for _ in range(count):
                sock.emit("m", payload)
                peak.append(sock._conn.pending_bytes)
            done.set()

        producer = threading.Thread(target=produce)
        producer.start()
        assert not done.wait(1.0), "the producer should be paused by backpressure"
        assert max(peak) < 4 * 1024 * 1024  # bounded, not 20 MB
        frame = b'{"type":"m","data":"' + payload.encode() + b'"}\f'
        received = 0
        peer.settimeout(TIMEOUT)
        while received < count * len(frame):
            chunk = peer.recv(1 << 20)
            assert chunk
            received += len(chunk)
        producer.join(TIMEOUT)
        assert done.is_set() and received == count * len(frame)
    finally:
        peer.close()
        server.stop()


def test_loop_drain_inside_asyncio(run, root):
    async def body():
        server_ipc = make_ipc(root, id="drain")
        conns = Events()
        server = server_ipc.serve()
        conns.watch(server, "connect")
        server.start()
        await server.wait_started()
        reader, writer = await asyncio.open_unix_connection(root + "app.drain")
        await conns.until(lambda: conns.of("connect"))
        (sock,) = conns.of("connect")[0]
        frame_len = len(b'{"type":"m","data":"' + b"y" * 1000 + b'"}\f')
        sent = 0
        while sock.emit("m", "y" * 1000):  # returns False once the peer is behind
            sent += 1
            assert sent < 100_000
        sent += 1
        drained = asyncio.ensure_future(sock.drain())
        await asyncio.sleep(0.05)
        assert not drained.done()
        data = await reader.readexactly(sent * frame_len)
        await asyncio.wait_for(drained, TIMEOUT)
        assert data.count(b"\f") == sent
        writer.close()
        server.stop()
        await server.wait_closed()

    run(body)


def _script(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])},
    )


def test_open_server_keeps_process_alive_and_stop_releases_it(root):
    code = f"""
        from fastipc import IPC
        ipc = IPC(); ipc.config.silent = True; ipc.config.socketRoot = {root!r}; ipc.config.id = "alive"
        ipc.serve(lambda: print("started", flush=True)).start()
        {{stop}}
    """
    alive = _script(code.replace("{stop}", "pass"))
    try:
        assert alive.stdout.readline().strip() == "started"
        time.sleep(1.0)
        assert alive.poll() is None  # the loop thread keeps it alive, as Node's loop would
    finally:
        alive.kill()
        alive.communicate(timeout=TIMEOUT)
    stopped = _script(code.replace("{stop}", "ipc.server.stop()"))
    out, err = stopped.communicate(timeout=TIMEOUT)
    assert stopped.returncode == 0, err
    assert out.strip() == "started"


# ---------------------------------------------------------------- log


def test_log_honours_silent_logger_depth_and_colour():
    ipc = IPC()
    lines: list[str] = []
    ipc.config.logger = lines.append
    ipc.config.logInColor = False
    ipc.config.logDepth = 1
    ipc.log("value", {"a": {"b": {"c": 1}}}, 5)
    assert lines == ["value {'a': {'b': {...}}} 5"]  # as util.inspect's depth 1
    ipc.config.logInColor = True
    ipc.log("n", 5)
    assert lines[-1] == "n \x1b[33m5\x1b[0m"
    ipc.config.silent = True
    ipc.log("hidden")
    assert len(lines) == 2


def test_socket_destroy_and_interface_local_address(run):
    port = free_port()

    async def body():
        server_ipc = make_ipc("/tmp/")
        events = Events()
        server = server_ipc.serveNet("127.0.0.1", port)
        events.watch(server, "connect", "socket.disconnected")
        server.start()
        await server.wait_started()
        client_ipc = make_ipc("/tmp/", maxRetries=0, interface={"localAddress": "127.0.0.2"})
        seen = Events()
        client_ipc.connectToNet("srv", "127.0.0.1", port, lambda: seen.watch(client_ipc.of.srv, "connect", "disconnect", "destroy"))
        await events.until(lambda: events.of("connect"))
        (sock,) = events.of("connect")[0]
        assert sock.remoteAddress == "127.0.0.2"  # the client bound the address it was told to
        sock.destroy()
        await seen.until(lambda: seen.of("destroy"))
        assert seen.names() == ["connect", "disconnect", "destroy"]
        await events.until(lambda: events.of("socket.disconnected"))
        assert server.sockets == []
        server.stop()
        await server.wait_closed()

    run(body)


def test_log_payloads(run, root):
    async def body():
        lines: list[str] = []
        server_ipc = make_ipc(root, id="loud", silent=False, logPayloads=True, logger=lines.append, logInColor=False)
        got = Events()
        server = server_ipc.serve()
        got.watch(server, "ping")
        server.on("ping", lambda data, sock: sock.emit("pong", data))
        server.start()
        await server.wait_started()
        client_ipc = make_ipc(root, silent=False, logPayloads=True, logger=lines.append, logInColor=False)
        pongs = Events()
        client_ipc.connectTo("loud", lambda: pongs.watch(client_ipc.of.loud, "pong"))
        client_ipc.of.loud.emit("ping", {"n": 7})
        await pongs.until(lambda: pongs.of("pong"))
        client_ipc.disconnect("loud")
        server.stop()
        await server.wait_closed()
        text = "\n".join(lines)
        assert f"dispatching event to loud {root}app.loud : ping {{'n': 7}}" in text
        assert "received event ping {'n': 7}" in text
        assert "dispatching event to socket pong {'n': 7}" in text
        assert "received event pong {'n': 7}" in text

    run(body)


@pytest.mark.parametrize("server_host", ["127.0.0.1", "localhost"])
def test_host_name_resolves_after_main_thread_returns(server_host):
    """The main thread returns at once; the loop thread resolves 'localhost'
    while the interpreter is shutting down, and the exchange completes.
    (A server bound to 'localhost' has made asyncio's resolver pool already,
    which then refuses work with another message.)"""
    port = free_port()
    script = _script(f"""
        from fastipc import IPC
        srv = IPC(); srv.config.silent = True
        srv.serveNet("{server_host}", {port})
        srv.server.on("hi", lambda d, sock: (print("server got", d, flush=True), sock.emit("bye")))
        srv.server.start()
        c = IPC(); c.config.silent = True; c.config.maxRetries = 0
        def cb():
            c.of.w.on("connect", lambda: c.of.w.emit("hi", 1))
            c.of.w.on("bye", lambda d: (print("client got bye", flush=True), c.disconnect("w"), srv.server.stop()))
        c.connectToNet("w", "localhost", {port}, cb)
    """)
    try:
        out, err = script.communicate(timeout=TIMEOUT)
    finally:
        if script.poll() is None:
            script.kill()
            script.communicate()
    assert script.returncode == 0, err
    assert out.split("\n")[:2] == ["server got 1", "client got bye"]
    assert "Traceback" not in err
