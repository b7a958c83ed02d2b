"""The node-ipc API over real Unix sockets and TCP, in every run mode.

Most tests take ``mode``: their body runs inside a running loop (asyncio,
uvloop) and from plain code (fastipc's background loop thread), each with
both codecs; see tests/helpers.py for how one body runs in all three.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading

import pytest

from fastipc import (
    IPC,
    IPCNotConnectedError,
    IPCProtocolError,
    SocketRootError,
    UnlinkNotSocketError,
)

from .helpers import (
    QUIET,
    WAIT,
    Pending,
    RawPeer,
    Recorder,
    closed,
    connected,
    free_port,
    make_ipc,
    off_loop,
    python_env,
    started,
    stay_quiet,
)

# ---------------------------------------------------------------- basics


def test_hello_world_by_id(mode, root):
    async def body():
        server_ipc = make_ipc(root, id="world")
        server_events = Recorder()

        def listening():
            server_events.watch(server_ipc.server, "connect", "socket.disconnected")

            @server_ipc.server.on("message")
            def message(data, sock):
                handler_threads.append(threading.current_thread().name)
                server_ipc.server.emit(sock, "message", data + " world!")

        handler_threads = []
        server = server_ipc.serve(listening)
        assert server.path == root + "app.world"
        server.start()
        await started(server)
        assert stat.S_ISSOCK(os.stat(root + "app.world").st_mode)

        client_ipc = make_ipc(root, id="hello")
        got = Recorder()

        def connecting():
            got.watch(client_ipc.of.world, "connect", "message")
            client_ipc.of.world.on("connect", lambda: client_ipc.of.world.emit("message", "hello"))

        client = client_ipc.connectTo("world", connecting)
        await connected(client)
        await got.until(lambda: got.of("message"))
        assert got.of("message") == [("hello world!",)]
        assert got.names()[0] == "connect"
        assert len(server_events.of("connect")) == 1
        client_ipc.disconnect("world")
        await server_events.until(lambda: server_events.of("socket.disconnected"))
        await closed(client)
        server.stop()
        await closed(server)
        assert not os.path.exists(root + "app.world")
        # handlers run on the loop: fastipc's own thread only from plain code
        assert handler_threads == ["fastipc-loop" if mode.thread else "MainThread"]

    mode.run(body)


@pytest.mark.parametrize("family", ["IPv4", "IPv6"])
def test_tcp(mode, family):
    host = "127.0.0.1" if family == "IPv4" else "::1"
    port = free_port(host)

    async def body():
        server_ipc = make_ipc()
        peers = []

        def listening():
            @server_ipc.server.on("ping")
            def ping(data, sock):
                peers.append((sock.remoteAddress, sock.remotePort, sock.remoteFamily))
                sock.emit("pong", data)

        server = server_ipc.serveNet(host, port, listening)
        server.start()
        await started(server)
        client_ipc = make_ipc()
        got = Recorder()
        client = client_ipc.connectToNet(
            "srv", host, port, lambda: got.watch(client_ipc.of.srv, "pong")
        )
        client.emit("ping", {"n": 1, "s": "é"})
        await got.until(lambda: got.of("pong"))
        assert got.of("pong") == [({"n": 1, "s": "é"},)]
        assert peers[0][0] == host and peers[0][2] == family and isinstance(peers[0][1], int)
        client_ipc.disconnect("srv")
        server.stop()
        await closed(client)
        await closed(server)

    mode.run(body)


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


def test_broadcast_identify_peer_and_socket_disconnected(mode, root):
    async def body():
        server_ipc = make_ipc(root, id="hub", identifyPeer=True)
        events = Recorder()
        server = server_ipc.serve()
        events.watch(server, "hello", "socket.disconnected")
        server.start()
        await started(server)
        clients = []
        inbox = Recorder()
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
        await closed(server)

    mode.run(body)


def test_max_connections(mode, root):
    async def body():
        server_ipc = make_ipc(root, id="small", maxConnections=2)
        events = Recorder()
        server = server_ipc.serve()
        events.watch(server, "connect", "hi")
        server.on("hi", lambda data, sock: sock.emit("hi", data))
        server.start()
        await started(server)
        clients = [make_ipc(root, maxRetries=0) for _ in range(3)]
        replies = Recorder()
        for c in clients[:2]:
            c.connectTo("small", lambda c=c: replies.watch(c.of.small, "hi", "destroy"))
            await connected(c.of.small)
        await events.until(lambda: len(events.of("connect")) == 2)
        third = Recorder()
        clients[2].connectTo(
            "small", lambda: third.watch(clients[2].of.small, "connect", "disconnect", "destroy")
        )
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
        await closed(server)

    mode.run(body)


def test_handler_error_is_reported_and_connection_survives(mode, root, caplog):
    async def body():
        server_ipc = make_ipc(root, id="fragile")
        errors = Recorder()
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
        await started(server)
        client_ipc = make_ipc(root)
        done = Recorder()
        client_ipc.connectTo("fragile", lambda: done.watch(client_ipc.of.fragile, "done"))
        for item in ("a", "boom", "b"):
            client_ipc.of.fragile.emit("job", item)
        await done.until(lambda: len(done.of("done")) == 2)
        assert seen == ["a", "b"]
        assert isinstance(errors.of("error")[0][0], RuntimeError)
        client_ipc.disconnect("fragile")
        server.stop()
        await closed(server)

    with caplog.at_level(logging.ERROR, logger="fastipc"):
        mode.run(body)
    assert any("handler failed" in r.getMessage() for r in caplog.records)


def test_protocol_error_closes_only_that_connection(mode, root):
    async def body():
        server_ipc = make_ipc(root, id="strict", parser="guarded")
        events = Recorder()
        server = server_ipc.serve()
        events.watch(server, "error", "ok", "socket.disconnected")
        server.on("ok", lambda data, sock: sock.emit("ok", data))
        server.start()
        await started(server)
        good = make_ipc(root)
        replies = Recorder()
        good.connectTo("strict", lambda: replies.watch(good.of.strict, "ok"))
        await connected(good.of.strict)
        peer = RawPeer(root + "app.strict")
        try:
            peer.send(b'{"type":"ok","data":1}\f[1,2]\f')
            assert await off_loop(peer.read_until_closed) == b'{"type":"ok","data":1}\f'
        finally:
            peer.close()
        await events.until(lambda: events.of("error") and events.of("socket.disconnected"))
        error = events.of("error")[0][0]
        assert isinstance(error, IPCProtocolError) and error.code == "ERR_IPC_INVALID_MESSAGE"
        good.of.strict.emit("ok", 2)
        await replies.until(lambda: replies.of("ok"))
        assert replies.of("ok") == [(2,)]
        good.disconnect("strict")
        server.stop()
        await closed(server)

    mode.run(body)


# ---------------------------------------------------------------- lifecycle


def test_reconnects_after_server_restart_and_rearms(mode, root):
    async def body():
        # two retries 200 ms apart: room for a restart; without re-arming on
        # each connect the budget would be spent by the third round
        client_ipc = make_ipc(root, maxRetries=2, retry=200)
        events = Recorder()
        client_ipc.connectTo(
            "phoenix",
            lambda: events.watch(client_ipc.of.phoenix, "connect", "disconnect", "destroy", "back"),
        )
        for round_ in range(3):
            server_ipc = make_ipc(root, id="phoenix")
            server = server_ipc.serve()
            server.on("connect", lambda sock, r=round_: sock.emit("back", r))
            server.start()
            await started(server)
            await events.until(lambda r=round_: len(events.of("back")) == r + 1)
            before = len(events.of("disconnect"))
            server.stop()
            await closed(server)
            await events.until(lambda n=before: len(events.of("disconnect")) > n)
        assert events.of("back") == [(0,), (1,), (2,)]
        assert not events.of("destroy")
        client = client_ipc.of.phoenix
        client_ipc.disconnect("phoenix")
        await closed(client)
        # as in node-ipc, a disconnect you asked for reaches no handler
        assert events.names().count("destroy") == 0 and client.destroyed

    mode.run(body)


def test_max_retries_then_destroy(mode, root):
    async def body():
        client_ipc = make_ipc(root, maxRetries=2, retry=20)
        events = Recorder()
        client_ipc.connectTo(
            "nobody", lambda: events.watch(client_ipc.of.nobody, "error", "disconnect", "destroy")
        )
        await events.until(lambda: events.of("destroy"))
        await stay_quiet()  # nothing follows 'destroy'
        assert events.names().count("error") == 3  # first try and two retries
        assert events.names().count("disconnect") == 3
        assert events.names()[-1] == "destroy" and events.names().count("destroy") == 1
        assert isinstance(events.of("error")[0][0], OSError)
        with pytest.raises(IPCNotConnectedError):
            client_ipc.of.nobody.emit("x")
        with pytest.raises(IPCNotConnectedError):
            await connected(client_ipc.of.nobody)

    mode.run(body)


def test_stop_retrying(mode, root):
    async def body():
        client_ipc = make_ipc(root, stopRetrying=True)
        events = Recorder()
        client_ipc.connectTo(
            "nobody", lambda: events.watch(client_ipc.of.nobody, "error", "disconnect", "destroy")
        )
        await events.until(lambda: events.of("destroy"))
        await stay_quiet()  # nothing follows 'destroy'
        assert events.names() == ["error", "disconnect", "destroy"]

    mode.run(body)


def test_disconnect_during_retry_is_final(mode, root):
    async def body():
        client_ipc = make_ipc(root, retry=20)
        events = Recorder()
        client_ipc.connectTo(
            "later",
            lambda: events.watch(client_ipc.of.later, "connect", "error", "disconnect", "destroy"),
        )
        await events.until(lambda: len(events.of("error")) >= 2)
        client = client_ipc.of.later
        seen = len(events.items)
        client_ipc.disconnect("later")
        assert "later" not in client_ipc.of
        await closed(client)
        assert client.destroyed and len(events.items) == seen  # no event of its own
        # a server appearing now is not reached: no retry follows
        server_ipc = make_ipc(root, id="later")
        server = server_ipc.serve()
        server.start()
        await started(server)
        await stay_quiet()  # ten retry periods
        assert not events.of("connect") and client.destroyed
        server.stop()
        await closed(server)

    mode.run(body)


def test_connect_to_again_runs_callback_and_changes_nothing(mode, root):
    async def body():
        server_ipc = make_ipc(root, id="once")
        server = server_ipc.serve()
        server.start()
        await started(server)
        client_ipc = make_ipc(root)
        first = client_ipc.connectTo("once")
        await connected(first)
        calls = []
        again = client_ipc.connectTo("once", lambda: calls.append(1))
        assert again is first and calls == [1] and client_ipc.of.once is first
        client_ipc.disconnect("once")
        server.stop()
        await closed(first)
        await closed(server)

    mode.run(body)


def test_emits_before_connect_are_sent_in_order(mode, root):
    async def body():
        client_ipc = make_ipc(root, retry=20)
        failures = Recorder()
        client_ipc.connectTo("late", lambda: failures.watch(client_ipc.of.late, "error"))
        for i in range(100):
            client_ipc.of.late.emit("n", i)
        await failures.until(lambda: len(failures.of("error")) >= 2)  # failed attempts meanwhile
        server_ipc = make_ipc(root, id="late")
        got = Recorder()
        server = server_ipc.serve()
        got.watch(server, "n")
        server.start()
        await got.until(lambda: len(got.of("n")) == 100)
        assert [a[0] for a in got.of("n")] == list(range(100))
        client_ipc.disconnect("late")
        server.stop()
        await closed(server)

    mode.run(body)


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


@pytest.mark.parametrize(
    ("readable", "writable", "bits"),
    [(True, False, 0o444), (False, True, 0o222), (True, True, 0o666)],
)
def test_readable_writable_all(root, readable, writable, bits):
    ipc = make_ipc(root, id="perm", readableAll=readable, writableAll=writable)
    ipc.serve().start()
    try:
        assert stat.S_IMODE(os.stat(root + "app.perm").st_mode) & bits == bits
    finally:
        ipc.server.stop()


# ---------------------------------------------------------------- threads


@pytest.mark.loops("thread")
def test_background_thread_callbacks_before_events(mode, root):
    """connectTo's callback runs before any event, even when it is slow."""
    server_ipc = make_ipc(root, id="quick")
    server = server_ipc.serve()
    at_server = Recorder().watch(server, "connect")
    server.start()
    client_ipc = make_ipc(root)
    events = Recorder()

    def slow_callback():
        # Were the connection started before this callback returns, the
        # server would see it meanwhile and the client's 'connect' would be
        # dispatched before the handler below exists.
        with contextlib.suppress(AssertionError):
            at_server.wait(lambda: at_server.of("connect"), QUIET)
        events.watch(client_ipc.of.quick, "connect")

    try:
        client_ipc.connectTo("quick", slow_callback)
        events.wait(lambda: events.of("connect"))
        assert threading.current_thread() is threading.main_thread()
    finally:
        client_ipc.disconnect("quick")
        server.stop()


@pytest.mark.loops("thread")
def test_emit_from_many_threads(mode, root):
    server_ipc = make_ipc(root, id="many")
    got = Recorder()
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
            t.join(WAIT)
        got.wait(lambda: len(got.of("n")) == 8000, timeout=3 * WAIT)
        for k in range(4):
            assert [a[0][1] for a in got.of("n") if a[0][0] == k] == list(range(2000))
        assert len(loop_threads) == 1 and threading.get_ident() not in loop_threads
    finally:
        client_ipc.disconnect("many")
        server.stop()


@pytest.mark.loops("thread")
def test_backpressure_pauses_a_producer_thread(mode, root):
    """A peer that does not read pauses the sender; nothing is dropped.
    (Inside a running loop emit returns False instead: see the next test.)"""
    server_ipc = make_ipc(root, id="slow")
    conns = Recorder()
    server = server_ipc.serve()
    conns.watch(server, "connect")
    server.start()
    peer = RawPeer(root + "app.slow")
    try:
        sock = conns.first("connect")
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
        assert not done.wait(QUIET), "the producer should be paused by backpressure"
        frame_len = len(b'{"type":"m","data":"' + payload.encode() + b'"}\f')
        received = len(peer.read_exactly(count * frame_len, timeout=3 * WAIT))
        producer.join(WAIT)
        assert done.is_set() and received == count * frame_len
        assert max(peak) < 4 * 1024 * 1024  # bounded, not 20 MB
    finally:
        peer.close()
        server.stop()


@pytest.mark.loops("asyncio", "uvloop")
def test_drain_inside_a_running_loop(mode, root):
    """Inside a running loop emit returns False once the peer is behind,
    and ``drain()`` waits until it has read."""

    async def body():
        server_ipc = make_ipc(root, id="drain")
        conns = Recorder()
        server = server_ipc.serve()
        conns.watch(server, "connect")
        server.start()
        await started(server)
        peer = RawPeer(root + "app.drain")
        try:
            (sock,) = (await conns.arrived("connect"))[0]
            frame_len = len(b'{"type":"m","data":"' + b"y" * 1000 + b'"}\f')
            sent = 0
            while sock.emit("m", "y" * 1000):  # returns False once the peer is behind
                sent += 1
                assert sent < 100_000
            sent += 1
            drained = Pending(sock.drain)
            await stay_quiet()
            assert not drained.done(), "drain() returned while the peer had read nothing"
            data = await off_loop(peer.read_exactly, sent * frame_len)
            await drained.result()
            assert data.count(b"\f") == sent
        finally:
            peer.close()
        server.stop()
        await closed(server)

    mode.run(body)


def _script(code: str) -> subprocess.Popen[str]:
    """Python ``code`` in a child process running the installed fastipc."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=python_env(),
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
        # the loop thread keeps it alive, as Node's loop would
        with pytest.raises(subprocess.TimeoutExpired):
            alive.wait(QUIET)
    finally:
        alive.kill()
        alive.communicate(timeout=WAIT)
    stopped = _script(code.replace("{stop}", "ipc.server.stop()"))
    out, err = stopped.communicate(timeout=WAIT)
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


def test_socket_destroy_and_interface_local_address(mode):
    port = free_port()

    async def body():
        server_ipc = make_ipc()
        events = Recorder()
        server = server_ipc.serveNet("127.0.0.1", port)
        events.watch(server, "connect", "socket.disconnected")
        server.start()
        await started(server)
        client_ipc = make_ipc(maxRetries=0, interface={"localAddress": "127.0.0.2"})
        seen = Recorder()
        client_ipc.connectToNet(
            "srv",
            "127.0.0.1",
            port,
            lambda: seen.watch(client_ipc.of.srv, "connect", "disconnect", "destroy"),
        )
        (sock,) = (await events.arrived("connect"))[0]
        assert sock.remoteAddress == "127.0.0.2"  # the client bound the address it was told to
        sock.destroy()
        await seen.until(lambda: seen.of("destroy"))
        assert seen.names() == ["connect", "disconnect", "destroy"]
        await events.until(lambda: events.of("socket.disconnected"))
        assert server.sockets == []
        server.stop()
        await closed(server)

    mode.run(body)


def test_log_payloads(mode, root):
    async def body():
        lines: list[str] = []
        log = {"silent": False, "logPayloads": True, "logger": lines.append, "logInColor": False}
        server_ipc = make_ipc(root, id="loud", **log)
        got = Recorder()
        server = server_ipc.serve()
        got.watch(server, "ping")
        server.on("ping", lambda data, sock: sock.emit("pong", data))
        server.start()
        await started(server)
        client_ipc = make_ipc(root, **log)
        pongs = Recorder()
        client_ipc.connectTo("loud", lambda: pongs.watch(client_ipc.of.loud, "pong"))
        client_ipc.of.loud.emit("ping", {"n": 7})
        await pongs.until(lambda: pongs.of("pong"))
        client_ipc.disconnect("loud")
        server.stop()
        await closed(server)
        text = "\n".join(lines)
        assert f"dispatching event to loud {root}app.loud : ping {{'n': 7}}" in text
        assert "received event ping {'n': 7}" in text
        assert "dispatching event to socket pong {'n': 7}" in text
        assert "received event pong {'n': 7}" in text

    mode.run(body)


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
        out, err = script.communicate(timeout=WAIT)
    finally:
        if script.poll() is None:
            script.kill()
            script.communicate()
    assert script.returncode == 0, err
    assert out.split("\n")[:2] == ["server got 1", "client got bye"]
    assert "Traceback" not in err
